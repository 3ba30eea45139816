/*
** CLI: the --help pages, rendered at build time from doc/cmd/<name>.md as
** plain text by scripts/cmdpage.py (which also makes the man pages from
** them), so the command and its documentation never disagree.
*/
#ifndef EK_CLI_HELP_H
#define EK_CLI_HELP_H

typedef struct ek_help_page {
    const char *name; /* subcommand ("build"), or "eodkit" for the overview */
    const char *text;
} ek_help_page;

/* Terminated by {NULL, NULL}. */
extern const ek_help_page ek_help_pages[];

#endif
