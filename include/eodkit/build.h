/*
** Building a dataset: load a recipe (YAML), then run the pipeline
** plan -> read+align -> label -> filter -> split -> write into a folder that
** appears, complete, only at the end. See doc/recipe.md and doc/format.md.
*/
#ifndef EODKIT_BUILD_H
#define EODKIT_BUILD_H

#include "eodkit/eodkit.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct eodkit_recipe eodkit_recipe;

/*
** Parse and validate the recipe file PATH into *RECIPE. Relative paths in it
** resolve against its folder. Errors name PATH:line:column (and the nearest
** valid key for an unknown one) and return EODKIT_ERR_INPUT. Input files are
** not opened yet: eodkit_build() checks them.
*/
EODKIT_API int eodkit_recipe_load(eodkit_ctx *ctx, const char *path,
                                  eodkit_recipe **recipe /* OUT */);

/* Release a recipe (NULL is fine). */
EODKIT_API void eodkit_recipe_free(eodkit_recipe *recipe);

/* Called on the building thread after each work unit: DONE of TOTAL
   candidate chips processed. */
typedef void (*eodkit_progress_fn)(void *arg, long long done, long long total);

/* Called on the building thread with a one-line note for the user (such as
   that an unfinished build in the output's .partial folder was discarded). */
typedef void (*eodkit_notice_fn)(void *arg, const char *text);

/* A lock on an output folder held across several builds and merges
   (eodkit_output_lock). */
typedef struct eodkit_lock eodkit_lock;

typedef struct eodkit_build_options {
    int threads; /* worker threads (>= 1); output does not depend on it */
    /* With remote inputs (https://, /vsicurl/, /vsis3/, ...): run this many
       work units at a time when that is more than THREADS, as workers
       mostly wait on the network (0: THREADS). Output does not depend on
       it either. */
    int remote_workers;
    const char *output_dir;      /* NULL: the recipe's output.dir */
    int overwrite;               /* replace an existing dataset at the output folder */
    eodkit_progress_fn progress; /* may be NULL */
    void *progress_arg;
    const volatile int *cancel; /* may be NULL; nonzero stops the build cleanly */
    /* Region layer for country/continent tags (NULL: the recipe's, else the
       built-in world layer) and its region field (NULL: the recipe's, else
       "continent"). */
    const char *regions_path;
    const char *region_field;
    /* Continue the build a killed or interrupted run left in the output
       folder's .partial folder (or part folder), reusing its finished work
       units; the result is byte-identical to an uninterrupted build. */
    int resume;
    /* With PART_COUNT >= 1 (0: the whole build): build only part
       PART_INDEX (0-based) of PART_COUNT into <output>.parts/, for
       eodkit_merge() to join, even when PART_COUNT is 1 (a job array of
       one task is merged as any other). */
    int part_index;
    int part_count;
    eodkit_notice_fn notice; /* may be NULL */
    void *notice_arg;
    /* The output's lock, when the caller holds it (eodkit_output_lock):
       a whole build or a merge then uses it instead of taking its own. */
    eodkit_lock *lock;
} eodkit_build_options;

/* Fill OPT with the defaults: 1 thread, the recipe's output folder, no
   overwrite, no progress, no cancel flag, no resume, the whole build, no
   notices, no lock held. */
EODKIT_API void eodkit_build_options_init(eodkit_build_options *opt);

/*
** Build the dataset RECIPE describes. The dataset is written into a
** temporary folder beside the output folder (<output>.partial/, locked for
** the whole build: while another process builds, merges or resumes into
** the same output the call fails at once with EODKIT_ERR_EXISTS naming its
** pid, and changes nothing) and put in place only when complete, replacing
** an existing dataset in one atomic step where the kernel allows; on failure
** or cancellation nothing is left at the output path and an existing
** dataset there is untouched. An existing output is replaced only with
** OPT->overwrite, and only if it is an eodkit dataset or empty. A failure
** that leaves the finished work units valid (interrupted, I/O such as a full
** disk, out of memory) or a refused OPT->resume keeps the temporary folder
** for OPT->resume, and the message says so (doc/scaling.md).
** The last step audits the dataset (eodkit_audit: audit.json, audit.html,
** datasheet.md, sampling weights in index.gpkg).
** On success *SUMMARY_JSON (free with eodkit_free) holds a JSON object:
** chips written, rejected per reason, chips per split, the audit's verdict,
** bias indices and warnings ("audit"), seconds.
**
** With OPT->part_count >= 1 only that part's work units are built, into
** <output>.parts/<i>-of-<n>/ (locked for the build); the dataset appears
** when eodkit_merge() joins all parts. The summary then describes the part.
*/
EODKIT_API int eodkit_build(eodkit_ctx *ctx, const eodkit_recipe *recipe,
                            const eodkit_build_options *opt,
                            char **summary_json /* OUT */);

/*
** Join the parts eodkit_build() wrote with OPT->part_count = N into the
** dataset at the output folder: byte-identical to a build in one process.
** Every part must be complete and built from the same recipe and inputs.
** OPT->part_count gives N (0: found from the parts present). The merge
** holds the output's lock and that of the parts folder: no part may be
** building. The parts folder is removed once the dataset is in place.
** Summary as for eodkit_build().
*/
EODKIT_API int eodkit_merge(eodkit_ctx *ctx, const eodkit_recipe *recipe,
                            const eodkit_build_options *opt,
                            char **summary_json /* OUT */);

/*
** Join the N datasets at DATASETS (N >= 2), built on the same reference
** grid (grid.system) from recipes that differ only in the dataset's
** description and the modalities' files, into the dataset at
** OPT->output_dir (required): the build of one recipe over all their files
** (the first dataset's, with every dataset's files), so each cell appears
** once and splits and guard bands hold across the datasets. Their recipes
** are compared first: EODKIT_ERR_INPUT quoting the first difference, or
** naming a dataset not on a reference grid. The inputs must still be where
** the datasets' recipe.yaml names them. Output and summary as for
** eodkit_build() (doc/cmd/merge.md).
*/
EODKIT_API int eodkit_merge_datasets(eodkit_ctx *ctx, const char *const *datasets,
                                     int n, const eodkit_build_options *opt,
                                     char **summary_json /* OUT */);

/*
** Take the lock eodkit_build() and eodkit_merge() take on the output folder
** of RECIPE and OPT, and hold it until eodkit_output_unlock(): for a caller
** that runs several steps into one output and must keep other processes
** out in between (under mpirun, rank 0 holds it while every rank builds its
** part and until it has merged them). Pass it to those calls as OPT->lock;
** one build or merge with it may put a dataset in place. EODKIT_ERR_EXISTS
** (naming its pid) when another process holds it.
*/
EODKIT_API int eodkit_output_lock(eodkit_ctx *ctx, const eodkit_recipe *recipe,
                                  const eodkit_build_options *opt,
                                  eodkit_lock **lock /* OUT */);

/* Release LOCK (NULL is fine), removing the output's .partial folder when it
   holds no unfinished build. */
EODKIT_API void eodkit_output_unlock(eodkit_lock *lock);

#ifdef __cplusplus
}
#endif
#endif
