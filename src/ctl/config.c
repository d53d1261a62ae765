/* config.c — `yubin-ctl config`: every setting as "name = value", like
 * postconf. -n only those set in control/, -d the defaults, -x expanded. */
#include "ctl.h"
#include "control.h"
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void show(const struct setting *s, int mode_d, int expand)
{
	const char *v = mode_d ? s->def : expand ? control_get(s->name) : control_raw(s->name);
	printf("%s = %s\n", s->name, v ? v : "");
}

int cmd_config(int argc, char **argv)
{
	int only_set = 0, defaults = 0, expand = 0, opt;
	if (argc == 2 && strcmp(argv[1], "--man") == 0) return config_man();   /* hidden: builds yubin-control(5) */
	while ((opt = getopt(argc, argv, "ndx")) != -1) {
		if (opt == 'n') only_set = 1;
		else if (opt == 'd') defaults = 1;
		else if (opt == 'x') expand = 1;
		else die(EXIT_PERM, "usage: yubin-ctl config [-n|-d|-x] [NAME...]");
	}
	if (optind < argc) {
		int bad = 0;
		for (int i = optind; i < argc; i++) {
			const struct setting *s = setting_find(argv[i]);
			if (!s) {
				log_msg("warning: %s: unknown setting (yubin-ctl config -d lists them all)", argv[i]);
				bad = 1;
				continue;
			}
			show(s, defaults, expand);
		}
		return bad;
	}
	for (size_t i = 0; i < settings_count; i++) {
		if (only_set && !control_is_set(settings[i].name)) continue;
		show(&settings[i], defaults, expand);
	}
	return 0;
}
