/* sr_version: the --version line of every program (see sr_version.h). */
#include "common/sr_version.h"

#include <stdio.h>

int sr_version_print(const char *prog)
{
	if (printf("%s %s (commit %s)\n", prog, sr_version_number, sr_version_commit) < 0 ||
	    fflush(stdout) != 0)
		return 1;
	return 0;
}
