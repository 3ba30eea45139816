/*
** CLI: `eodkit build --part auto[/N]`: which part of the build this process
** is, from the variables a batch system sets in each task of a job array
** (Slurm, AWS Batch, Google Cloud Batch, Kubernetes Indexed Jobs). See
** doc/scaling.md, "Job arrays".
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* A batch system's job array: the variable with the task's index, and the
   one with the number of tasks (NULL: the system sets none). */
typedef struct array_system {
    const char *name;
    const char *index;
    const char *count;
} array_system;

static const array_system systems[] = {
    {"Slurm", "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT"},
    {"AWS Batch", "AWS_BATCH_JOB_ARRAY_INDEX", "AWS_BATCH_JOB_ARRAY_SIZE"},
    {"Google Cloud Batch", "BATCH_TASK_INDEX", "BATCH_TASK_COUNT"},
    {"a Kubernetes Indexed Job", "JOB_COMPLETION_INDEX", NULL},
};
#define NSYSTEMS (sizeof systems / sizeof systems[0])

/* The largest number of parts (as merge's --parts). */
#define MAX_PARTS (1 << 20)

/* The whole number in environment variable NAME into *VALUE (MIN..MAX), or
   a usage error of CMD naming it (unset, or not such a number). */
static int variable(const char *cmd, const char *name, long long min, long long max,
                    long long *value)
{
    const char *text = getenv(name);
    char message[256];

    if (text != NULL && cli_whole(text, min, max, value) == 0) {
        return EODKIT_OK;
    }
    if (text == NULL) {
        snprintf(message, sizeof message, "--part auto: %s is not set", name);
    } else {
        snprintf(message, sizeof message,
                 "--part auto: %s=%s is not a whole number from %lld to %lld", name,
                 text, min, max);
    }
    return cli_usage_error(cmd, message);
}

/*
** Slurm numbers the tasks of `--array=A-B:S` A, A+S, ..., B (SLURM_ARRAY_
** TASK_MIN, _MAX, _STEP), COUNT of them: task ID is part (ID - A) / S of
** COUNT. Arrays with gaps (`--array=1,2,7`) have no such numbering.
*/
static int slurm_part(const char *cmd, long long id, long long count, int *index,
                      char *origin, size_t size)
{
    long long min = 0, max = 0, step = 0;
    char message[512];

    if (variable(cmd, "SLURM_ARRAY_TASK_MIN", 0, 1LL << 40, &min) != EODKIT_OK ||
        variable(cmd, "SLURM_ARRAY_TASK_MAX", 0, 1LL << 40, &max) != EODKIT_OK ||
        variable(cmd, "SLURM_ARRAY_TASK_STEP", 1, 1LL << 40, &step) != EODKIT_OK) {
        return EODKIT_ERR_USAGE;
    }
    if (id < min || id > max || max != min + (count - 1) * step ||
        (id - min) % step != 0) {
        snprintf(
            message, sizeof message,
            "--part auto: SLURM_ARRAY_TASK_ID=%lld is not a task of one range with "
            "one step (SLURM_ARRAY_TASK_MIN=%lld, SLURM_ARRAY_TASK_MAX=%lld, "
            "SLURM_ARRAY_TASK_STEP=%lld, SLURM_ARRAY_TASK_COUNT=%lld): give the "
            "number of parts, --part auto/N, to take SLURM_ARRAY_TASK_ID as the "
            "part",
            id, min, max, step, count);
        return cli_usage_error(cmd, message);
    }
    *index = (int)((id - min) / step);
    snprintf(origin, size,
             "SLURM_ARRAY_TASK_ID=%lld, SLURM_ARRAY_TASK_MIN=%lld, "
             "SLURM_ARRAY_TASK_STEP=%lld, SLURM_ARRAY_TASK_COUNT=%lld",
             id, min, step, count);
    return EODKIT_OK;
}

/* The system whose index variable is set into *FOUND, or a usage error of
   CMD when none or several are. */
static int which_system(const char *cmd, const array_system **found)
{
    char message[512];
    size_t i;

    *found = NULL;
    for (i = 0; i < NSYSTEMS; i++) {
        if (getenv(systems[i].index) == NULL) {
            continue;
        }
        if (*found != NULL) {
            snprintf(message, sizeof message,
                     "--part auto: both %s (%s) and %s (%s) are set; give --part I/N",
                     (*found)->index, (*found)->name, systems[i].index,
                     systems[i].name);
            return cli_usage_error(cmd, message);
        }
        *found = &systems[i];
    }
    if (*found == NULL) {
        return cli_usage_error(
            cmd, "--part auto: not a task of a job array: none of SLURM_ARRAY_TASK_ID, "
                 "AWS_BATCH_JOB_ARRAY_INDEX, BATCH_TASK_INDEX, JOB_COMPLETION_INDEX is "
                 "set; give --part I/N");
    }
    return EODKIT_OK;
}

int cli_part_auto(const char *cmd, const char *spec, int *index, int *count)
{
    const array_system *sys = NULL;
    long long id = 0, tasks = 0, given = 0;
    char origin[300] = "", message[512];
    int rc = EODKIT_OK;

    if (strcmp(spec, "auto") != 0 &&
        (strncmp(spec, "auto/", 5) != 0 || cli_whole(spec + 5, 1, MAX_PARTS, &given))) {
        return cli_usage_error(cmd, "--part needs I/N with 0 <= I < N (e.g. 0/4), auto "
                                    "or auto/N");
    }
    rc = which_system(cmd, &sys);
    if (rc == EODKIT_OK) {
        rc = variable(cmd, sys->index, 0, 1LL << 40, &id);
    }
    if (rc == EODKIT_OK && sys->count != NULL &&
        (given == 0 || getenv(sys->count) != NULL)) {
        rc = variable(cmd, sys->count, 1, MAX_PARTS, &tasks);
    }
    if (rc == EODKIT_OK && given == 0 && sys->count == NULL) {
        snprintf(message, sizeof message,
                 "--part auto: %s sets only %s: give the number of parts, --part "
                 "auto/N (N: the Job's completions)",
                 sys->name, sys->index);
        rc = cli_usage_error(cmd, message);
    } else if (rc == EODKIT_OK && given == 0 && sys == &systems[0]) {
        rc = slurm_part(cmd, id, tasks, index, origin, sizeof origin);
        *count = (int)tasks;
    } else if (rc == EODKIT_OK) {
        /* the index is the part; the array may have fewer tasks than parts
           (Slurm: some of them submitted again), never more */
        *count = (int)(given > 0 ? given : tasks);
        *index = (int)id;
        if (id >= *count) {
            snprintf(message, sizeof message,
                     "--part auto: %s=%lld is not a part of %d (0 to %d)", sys->index,
                     id, *count, *count - 1);
            rc = cli_usage_error(cmd, message);
        } else if (tasks > *count) {
            snprintf(message, sizeof message,
                     "--part auto/%d: %s=%lld: the array has more tasks than parts",
                     *count, sys->count, tasks);
            rc = cli_usage_error(cmd, message);
        } else if (tasks > 0) {
            snprintf(origin, sizeof origin, "%s=%lld, %s=%lld", sys->index, id,
                     sys->count, tasks);
        } else {
            snprintf(origin, sizeof origin, "%s=%lld", sys->index, id);
        }
    }
    if (rc == EODKIT_OK) {
        fprintf(stderr, "eodkit: note: --part auto: part %d/%d (%s: %s)\n", *index,
                *count, sys->name, origin);
    }
    return rc;
}
