/*
 * panscan: report card numbers (PANs) found in files, logs and database
 * dumps, for the tests (invariant 1, docs/invariants.md) and for a QSA (PCI DSS v4.0
 * 3.2.1, 12.5.2: confirm where account data is and is not).
 *
 *   panscan [-q] [FILE|DIR|-]...      (no argument: standard input)
 *
 * Each finding prints as "NAME:LINE:COLUMN: 424242******4242 (16 digits)":
 * never the full number (PCI DSS 3.4.1). Directories are walked (symbolic
 * links not followed). Special files (sockets, FIFOs, devices: a running
 * PostgreSQL's socket in its data directory) are skipped with a warning.
 * A report on standard error ends the run: files scanned, PostgreSQL WAL
 * segments among them and how they are read, special files skipped,
 * findings. -q prints nothing (errors aside).
 * Exit status: 0 no finding, 1 findings, 2 an input could not be read.
 * What counts as a finding (every shape, encoding and network):
 * common/sr_panscan.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "common/sr_panscan.h"
#include "common/sr_version.h"

static int g_quiet = 0;
static int g_error = 0;
static unsigned long long g_hits = 0;
static unsigned long long g_files = 0;
static unsigned long long g_wal = 0;     /* files under pg_wal/ (pg_xlog/ before PostgreSQL 10) */
static unsigned long long g_skipped = 0; /* special files */

/* How WAL is read: the report says it whenever it scanned some. */
static const char WAL_NOTE[] =
	"PostgreSQL WAL segments are scanned as raw bytes like the table files: a value\n"
	"written in clear is found there; values PostgreSQL compresses (TOAST pglz/lz4,\n"
	"full-page images with wal_compression on) are not decompressed: scan a pg_dump\n"
	"of each database as well (compliance/pci_dss/pci_scope.md).\n";

static int is_wal(const char *path)
{
	return strstr(path, "/pg_wal/") != NULL || strncmp(path, "pg_wal/", 7) == 0 ||
	       strstr(path, "/pg_xlog/") != NULL || strncmp(path, "pg_xlog/", 8) == 0;
}

/* A socket, FIFO or device: reading it would block or mean nothing. */
static int skip_special(const char *path, mode_t mode)
{
	if (S_ISREG(mode) || S_ISDIR(mode))
		return 0;
	g_skipped++;
	if (!g_quiet)
		fprintf(stderr, "panscan: %s: skipped (%s, not a regular file)\n", path,
		        S_ISSOCK(mode) ? "socket" : S_ISFIFO(mode) ? "FIFO" : "device");
	return 1;
}

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
	struct stat st;
	int fd = -1;
	int rc;

	if (stat(path, &st) == 0 && skip_special(path, st.st_mode))
		return 0;
	/* O_NONBLOCK: a FIFO swapped in after lstat never blocks the scan. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		fprintf(stderr, "panscan: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == 0 && skip_special(path, st.st_mode)) {
		close(fd);
		return 0;
	}
	g_files++;
	g_wal += is_wal(path) != 0;
	rc = scan_fd(fd, path);
	close(fd);
	return rc;
}

static int walk_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type == FTW_F) { /* FTW_SL, a symbolic link inside a tree: not followed */
		if (!skip_special(path, st->st_mode) && scan_path(path) != 0)
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
			       "Card numbers: the networks' IIN ranges and lengths, Luhn-valid, plain or in\n"
			       "groups of 3+ digits joined by any non-alphanumerics, glued to letters or '_',\n"
			       "%%-encoded or JSON-escaped (common/sr_panscan.h). Special files (sockets,\n"
			       "FIFOs, devices) are skipped with a warning. Exit 0 none, 1 found, 2 error.\n\n%s",
			       WAL_NOTE);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			return sr_version_print("panscan");
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
		} else if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) { /* var/pg may be a link */
			if (nftw(argv[i], walk_cb, 32, FTW_PHYS) != 0)
				g_error = 1;
		} else if (scan_path(argv[i]) != 0) {
			g_error = 1;
		}
	}
	if (nfiles == 0 && scan_fd(STDIN_FILENO, "(stdin)") != 0)
		g_error = 1;
	fflush(stdout);
	if (!g_quiet) {
		fprintf(stderr, "panscan: %llu file(s) scanned, %llu of them PostgreSQL WAL segments; "
		        "%llu special file(s) skipped; %llu finding(s)\n", g_files, g_wal, g_skipped,
		        g_hits);
		if (g_wal > 0)
			fputs(WAL_NOTE, stderr);
	}
	if (g_error)
		return 2;
	return g_hits > 0 ? 1 : 0;
}
