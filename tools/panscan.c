/*
 * panscan: report card numbers (PANs) found in files, logs and database
 * dumps, for the tests (BRIEF invariant 1) and for a QSA (PCI DSS v4.0
 * 3.2.1, 12.5.2: confirm where account data is and is not).
 *
 *   panscan [-q] [FILE|DIR|-]...      (no argument: standard input)
 *
 * Each finding prints as "NAME:LINE:COLUMN: 424242******4242 (16 digits)":
 * never the full number (PCI DSS 3.4.1). Directories are walked (regular
 * files only, symbolic links not followed). -q prints nothing.
 * Exit status: 0 no finding, 1 findings, 2 an input could not be read.
 * What counts as a finding: common/sr_panscan.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "common/sr_panscan.h"

static int g_quiet = 0;
static int g_error = 0;
static unsigned long long g_hits = 0;

static void on_hit(const sr_panscan_hit *hit, void *ctx)
{
	const char *name = ctx;

	g_hits++;
	if (!g_quiet)
		printf("%s:%llu:%llu: %s (%zu digits)\n", name, (unsigned long long)hit->line,
		       (unsigned long long)hit->column, hit->masked, hit->ndigits);
}

static int scan_fd(int fd, const char *name)
{
	unsigned char buf[65536];
	sr_panscan s;
	ssize_t n;
	int rc = 0;

	sr_panscan_init(&s, on_hit, (void *)name);
	for (;;) {
		n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "panscan: %s: %s\n", name, strerror(errno));
			rc = -1;
			break;
		}
		if (n == 0)
			break;
		sr_panscan_feed(&s, buf, (size_t)n);
	}
	sr_panscan_finish(&s);
	return rc;
}

static int scan_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	int rc;

	if (fd < 0) {
		fprintf(stderr, "panscan: %s: %s\n", path, strerror(errno));
		return -1;
	}
	rc = scan_fd(fd, path);
	close(fd);
	return rc;
}

static int walk_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_F) {
		if (scan_path(path) != 0)
			g_error = 1;
	} else if (type == FTW_DNR || type == FTW_NS) {
		fprintf(stderr, "panscan: %s: cannot read\n", path);
		g_error = 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int i, nfiles = 0;
	struct stat st;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-q") == 0) {
			g_quiet = 1;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			printf("usage: panscan [-q] [FILE|DIR|-]...\n"
			       "Luhn-valid 13-19 digit numbers (whole words; groups of 3-6 digits\n"
			       "joined by one space or hyphen count too). Exit 0 none, 1 found, 2 error.\n");
			return 0;
		} else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "panscan: unknown option (see --help)\n");
			return 2;
		} else {
			break;
		}
	}
	for (; i < argc; i++) {
		nfiles++;
		if (strcmp(argv[i], "-") == 0) {
			if (scan_fd(STDIN_FILENO, "(stdin)") != 0)
				g_error = 1;
		} else if (lstat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			if (nftw(argv[i], walk_cb, 32, FTW_PHYS) != 0)
				g_error = 1;
		} else if (scan_path(argv[i]) != 0) {
			g_error = 1;
		}
	}
	if (nfiles == 0 && scan_fd(STDIN_FILENO, "(stdin)") != 0)
		g_error = 1;
	fflush(stdout);
	if (g_error)
		return 2;
	return g_hits > 0 ? 1 : 0;
}
