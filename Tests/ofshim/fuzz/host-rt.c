/* The harnesses' side of the host build: leaving the shim (longjmp), the console, and a
 * bound on call depth. It sees the C library, not shim.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

enum { HOST_RETURNED, HOST_HALTED, HOST_ENTERED };	/* as host.h */

static jmp_buf *exit_to;
static int depth, depth_limit;
static int logging = -1;

int host_run(void (*fn)(void *), void *arg)
{
	jmp_buf here, *outer = exit_to;
	int saved = depth;
	exit_to = &here;
	int how = setjmp(here);
	if (!how) { fn(arg); how = HOST_RETURNED; }
	exit_to = outer;
	depth = saved;	/* a longjmp skipped the exit hooks */
	return how;
}

void host_die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

void host_stop(int how)
{
	if (!exit_to) host_die("the shim stopped outside host_run");
	longjmp(*exit_to, how);
}

/* The shim's console goes to stderr with OFSHIM_FUZZ_LOG=1 (to read a reproducer's run). */
void host_console(const char *s, size_t n)
{
	if (logging < 0) logging = getenv("OFSHIM_FUZZ_LOG") != NULL;
	if (logging) { ssize_t r = write(2, s, n); (void)r; }
}

void host_log(const char *fmt, ...)
{
	if (logging < 0) logging = getenv("OFSHIM_FUZZ_LOG") != NULL;
	if (!logging) return;
	va_list ap;
	va_start(ap, fmt);
	fputs("ofshim-fuzz: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* A finding of the harness's own (not a sanitizer's): libFuzzer saves the input on abort. */
void host_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("ofshim-fuzz: FINDING: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

/* shim-host.c is built with -finstrument-functions-after-inlining: on pseries the shim
 * runs on 64 KiB stacks, so unbounded recursion (on the depth of a tree, say) is a bug
 * even where the host's 8 MiB stack would take it. */
void host_set_depth_limit(int n) { depth_limit = n; }

__attribute__((no_instrument_function)) void __cyg_profile_func_enter(void *fn, void *site)
{
	(void)fn; (void)site;
	if (++depth > depth_limit && depth_limit) host_die("call depth %d: recursion deeper than the shim's 64 KiB stacks should see", depth);
}

__attribute__((no_instrument_function)) void __cyg_profile_func_exit(void *fn, void *site)
{
	(void)fn; (void)site;
	depth--;
}
