/* asan-options.c — linked into every program (not the unit tests) of a
 * SANITIZE=1 build: no leak report at exit. Programs are short-lived or
 * change identity (setuid, setresuid), where LeakSanitizer cannot work
 * and exit-time leaks are no fault; the unit tests keep leak checking. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "detect_leaks=0"; }
