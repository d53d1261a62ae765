/* route.c — unit tests for src/lib/route.c: next-hop syntax, transport
 * table entries and lookup order, local domains, relayhost, defaults.
 * Runs in a temporary YUBIN_ROOT with its own control files. */
#include "tap.h"
#include "control.h"
#include "route.h"
#include "table.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[256];

static void put(const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/control/%s", root, name);
	if (!text) { unlink(path); return; }
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	control_reload();
}

static void transport(const char *text)
{
	char path[512];
	put("transport", text);
	snprintf(path, sizeof path, "%s/control/transport", root);
	table_compile(path);
}

static int hop(const char *v, struct route *r)
{
	memset(r, 0, sizeof *r);
	return route_parse_nexthop(v, strlen(v), r);
}

int main(void)
{
	struct route r;
	char dir[] = "/tmp/yubin-route-XXXXXX";
	if (!mkdtemp(dir)) return 1;
	snprintf(root, sizeof root, "%s", dir);
	char cdir[300];
	snprintf(cdir, sizeof cdir, "%s/control", root);
	mkdir(cdir, 0755);
	setenv("YUBIN_ROOT", root, 1);
	put("myhostname", "mx.example.org\n");
	put("mydestination", "localhost, $myhostname\n");
	put("virtual_mailbox_domains", "example.test\n");

	/* next-hop syntax */
	ok(hop("[127.0.0.1]:2525", &r) == 0 && !strcmp(r.nexthop, "127.0.0.1") && r.port == 2525 && !r.mx,
	   "[ip]:port: no MX lookup");
	is_str(r.dest, "smtp:[127.0.0.1]:2525", "dest of [ip]:port");
	ok(hop("Mail.Example.COM.", &r) == 0 && !strcmp(r.nexthop, "mail.example.com") && r.port == 25 && r.mx,
	   "bare host: MX lookup, port 25, canonical name");
	is_str(r.dest, "smtp:mail.example.com:25", "dest of a bare host");
	ok(hop("relay.example:587", &r) == 0 && r.port == 587 && r.mx, "host:port keeps MX lookup");
	ok(hop("[ipv6:::1]:26", &r) == 0 && !strcmp(r.nexthop, "::1") && r.port == 26 && !r.mx, "[ipv6:addr]:port");
	ok(hop("[::1]", &r) == 0 && !strcmp(r.nexthop, "::1") && r.port == 25, "[v6 literal] without port");
	ok(hop("[host]:smtp", &r) == 0 && r.port == 25, "service name as port");
	ok(hop("[host]:0", &r) < 0, "port 0 refused");
	ok(hop("[host]:65536", &r) < 0, "port past 65535 refused");
	ok(hop("[host", &r) < 0, "unclosed bracket refused");
	ok(hop("[host]x", &r) < 0, "junk after bracket refused");
	ok(hop("ho st", &r) < 0, "space in host refused");
	ok(hop("", &r) < 0, "empty next hop refused");
	ok(hop("a:b:c", &r) < 0, "unbracketed colon mess refused");

	/* defaults without tables */
	ok(route_resolve("demo@example.test", &r) == 0 && r.kind == ROUTE_LOCAL, "virtual domain is local");
	ok(route_resolve("root@LOCALHOST", &r) == 0 && r.kind == ROUTE_LOCAL, "mydestination is local, any case");
	ok(route_resolve("root@mx.example.org", &r) == 0 && r.kind == ROUTE_LOCAL, "$myhostname expanded");
	ok(route_resolve("postmaster", &r) == 0 && r.kind == ROUTE_LOCAL, "address without domain is local");
	ok(route_resolve("bob@Other.Example.", &r) == 0 && r.kind == ROUTE_SMTP && r.mx &&
	   !strcmp(r.nexthop, "other.example") && r.port == 25, "remote domain goes to its MX");
	is_str(r.dest, "smtp:other.example:25", "dest groups by domain");
	ok(route_resolve("bob@[192.0.2.1]", &r) == 0 && r.kind == ROUTE_SMTP && !r.mx && !strcmp(r.nexthop, "192.0.2.1"),
	   "address literal goes straight to the address");

	/* relayhost */
	put("relayhost", "[smart.example]:587\n");
	ok(route_resolve("bob@other.example", &r) == 0 && r.kind == ROUTE_SMTP && !r.mx &&
	   !strcmp(r.nexthop, "smart.example") && r.port == 587, "relayhost [host]:port");
	ok(route_resolve("demo@example.test", &r) == 0 && r.kind == ROUTE_LOCAL, "relayhost leaves local mail alone");
	put("relayhost", "smart.example\n");
	ok(route_resolve("bob@other.example", &r) == 0 && r.mx && !strcmp(r.nexthop, "smart.example"),
	   "relayhost without brackets looks up MX");
	put("relayhost", "[bad\n");
	ok(route_resolve("bob@other.example", &r) < 0 && r.kind == ROUTE_ERROR && r.status[0] == '4',
	   "bad relayhost defers");
	put("relayhost", NULL);

	/* transport table */
	transport("other.test smtp:[127.0.0.1]:2525\n"
	          ".sub.test smtp:relay.sub.test:26\n"
	          "sub.test local:\n"
	          "special@other.test error:5.1.1 no such person here\n"
	          "down.test retry:come back later\n"
	          "gone.test error:\n"
	          "void.test discard:silently\n"
	          "lmtp.test lmtp:unix:/x\n"
	          "plain.test :[10.0.0.1]\n"
	          "hop.test smtp:\n"
	          "bare.test smtp\n"
	          "*   smtp:[default.relay]:2500\n");
	ok(route_resolve("x@other.test", &r) == 0 && r.kind == ROUTE_SMTP && r.port == 2525 && !r.mx,
	   "domain entry routes to [ip]:port");
	ok(route_resolve("x@a.b.sub.test", &r) == 0 && r.kind == ROUTE_SMTP && r.port == 26 && r.mx &&
	   !strcmp(r.nexthop, "relay.sub.test"), ".domain matches subdomains at any depth");
	ok(route_resolve("x@sub.test", &r) == 0 && r.kind == ROUTE_LOCAL, "the parent itself needs its own entry");
	ok(route_resolve("special@other.test", &r) == 0 && r.kind == ROUTE_ERROR && !strcmp(r.status, "5.1.1") &&
	   !strcmp(r.text, "no such person here"), "address entry before domain entry; error: status and text");
	ok(route_resolve("special+tag@other.test", &r) == 0 && r.kind == ROUTE_ERROR,
	   "address with extension falls back to the address without it");
	ok(route_resolve("x@down.test", &r) == 0 && r.kind == ROUTE_ERROR && r.status[0] == '4' &&
	   !strcmp(r.text, "come back later"), "retry: defers");
	ok(route_resolve("x@gone.test", &r) == 0 && r.kind == ROUTE_ERROR && !strcmp(r.status, "5.0.0"),
	   "error: without text bounces with 5.0.0");
	ok(route_resolve("x@void.test", &r) == 0 && r.kind == ROUTE_DISCARD && !strcmp(r.text, "silently"),
	   "discard:");
	is_str(r.dest, "discard", "discard dest");
	ok(route_resolve("x@lmtp.test", &r) < 0 && r.kind == ROUTE_ERROR && !strcmp(r.status, "4.3.5"),
	   "unknown transport defers as unavailable");
	ok(route_resolve("x@plain.test", &r) == 0 && r.kind == ROUTE_SMTP && !strcmp(r.nexthop, "10.0.0.1"),
	   "empty transport with a next hop");
	ok(route_resolve("x@hop.test", &r) == 0 && r.kind == ROUTE_SMTP && r.mx && !strcmp(r.nexthop, "hop.test"),
	   "smtp: with empty next hop uses the domain");
	ok(route_resolve("x@bare.test", &r) == 0 && r.kind == ROUTE_SMTP && !strcmp(r.nexthop, "bare.test"),
	   "transport without colon");
	ok(route_resolve("x@elsewhere.example", &r) == 0 && r.kind == ROUTE_SMTP && r.port == 2500 &&
	   !strcmp(r.nexthop, "default.relay"), "* catches the rest");
	ok(route_resolve("demo@example.test", &r) == 0 && r.kind == ROUTE_LOCAL, "* never captures local domains");
	transport("example.test smtp:[10.9.9.9]\n");
	ok(route_resolve("demo@example.test", &r) == 0 && r.kind == ROUTE_SMTP,
	   "an explicit entry may send a local domain elsewhere");

	/* an uncompiled table defers instead of guessing */
	char cdb[512];
	snprintf(cdb, sizeof cdb, "%s/control/transport.cdb", root);
	unlink(cdb);
	ok(route_resolve("x@other.test", &r) < 0 && r.kind == ROUTE_ERROR && r.status[0] == '4',
	   "transport text without its .cdb defers");
	put("transport", NULL);
	ok(route_resolve("x@other.test", &r) == 0 && r.kind == ROUTE_SMTP && r.mx, "no table at all: MX");

	/* transport values parsed directly */
	ok(route_parse_transport("error:4.7.1 later", 17, "d.test", &r) == 0 && !strcmp(r.status, "5.7.1"),
	   "error: forces a permanent class");
	ok(route_parse_transport(" local: ", 8, "d.test", &r) == 0 && r.kind == ROUTE_LOCAL, "spaces around value");
	ok(route_parse_transport("smtp:[x", 7, "d.test", &r) < 0 && r.kind == ROUTE_ERROR, "bad next hop in table");

	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf %s", root);
	if (system(cmd) != 0) return 1;
	return done_testing();
}
