/*
** CLI: what the subcommands share. The CLI is a thin shell over the public
** API: it parses arguments, calls the library, and prints one line per error.
*/
#ifndef EK_CLI_H
#define EK_CLI_H

#include <stdio.h>

#include "eodkit/eodkit.h"

/* One entry point per subcommand: ARGV[0] is the subcommand's name. */
int cmd_build(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_catalog(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_mosaic(int argc, char **argv);
int cmd_preview(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_export(int argc, char **argv);

/*
** MPI (cli/mpi.c; a no-op when eodkit is built without MPI or not started
** by mpirun): start MPI and give this process's RANK and the number of
** RANKS (0 and 1 outside mpirun; a failure to start MPI is printed and
** returned); whether every rank's status is EODKIT_OK
** (collective); and shutting MPI down.
*/
int cli_mpi_begin(int *rank, int *ranks);
int cli_mpi_all_ok(int status);
void cli_mpi_end(void);

/*
** `--part SPEC` of command CMD with SPEC "auto" or "auto/N" (cli/job_array.c):
** this task's part *INDEX of *COUNT in the job array the environment
** describes (Slurm, AWS Batch, Google Cloud Batch, Kubernetes Indexed Job;
** with /N the count is N and the task's index is the part), with a note on
** stderr naming the variables used. A usage error (printed) when no array,
** several kinds, or contradictory variables are set.
*/
int cli_part_auto(const char *cmd, const char *spec, int *index, int *count);

/* Print the --help page of subcommand NAME to OUT. Return EODKIT_OK. */
int cli_help(const char *name, FILE *out);

/* Print "eodkit: error: <message>" for CTX's failure; return its status. */
int cli_report(const eodkit_ctx *ctx);

/* Print "eodkit CMD: MESSAGE" and a pointer to --help; return
   EODKIT_ERR_USAGE. */
int cli_usage_error(const char *cmd, const char *message);

/* *OUT from decimal TEXT; nonzero unless TEXT is a whole number in
   MIN..MAX. */
int cli_whole(const char *text, long long min, long long max, long long *out);

/* cli_whole, or a usage error of command CMD, "OPTION wants a whole number
   from MIN to MAX" (EODKIT_ERR_USAGE). */
int cli_whole_option(const char *cmd, const char *option, const char *text,
                     long long min, long long max, long long *out);

/* Parse -j's argument TEXT into *THREADS (1-1024); else a usage error of
   command CMD (EODKIT_ERR_USAGE). */
int cli_threads(const char *cmd, const char *text, int *threads);

/* Print the JSON SUMMARY of a build or merge on stdout and its audit's
   warnings, one line each, on stderr. */
void cli_print_summary(const char *summary);

/* A new context, or NULL after printing "out of memory". */
eodkit_ctx *cli_ctx_new(void);

/* Nonzero once the user pressed Ctrl-C (after cli_catch_interrupt). */
extern volatile int cli_interrupted;

/* Make SIGINT/SIGTERM set cli_interrupted instead of killing the process. */
void cli_catch_interrupt(void);

#endif
