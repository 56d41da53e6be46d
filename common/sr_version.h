/*
 * sr_version: what every program answers to --version: the release number
 * and the git commit it was built from (`git describe --always --dirty`,
 * "unknown" when built from a tree without .git). Both strings come from a
 * file the build generates (scripts/version.sh -> build/gen/sr_version.c),
 * rewritten only when the commit changes, so a new commit relinks the
 * programs but recompiles no other object.
 */
#ifndef SR_VERSION_H
#define SR_VERSION_H

/* getopt_long value for { "version", no_argument, NULL, SR_OPT_VERSION }:
 * outside the range of short option characters. */
#define SR_OPT_VERSION 0x100

/** The release number, e.g. "0.1.0" (Makefile: SR_VERSION). Generated. */
extern const char sr_version_number[];
/** `git describe --always --dirty` at build time, or "unknown". Generated. */
extern const char sr_version_commit[];

/**
 * Print "PROG VERSION (commit COMMIT)\n" on stdout, the line every program
 * prints for --version (GNU Coding Standards, "--version": the program name
 * and version on the first line).
 * @param prog the program's name, e.g. "vaultd"; not NULL.
 * @return 0 (the exit status for --version), or 1 when stdout cannot be written.
 */
int sr_version_print(const char *prog);

#endif
