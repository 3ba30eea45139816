/*
** Build: joining datasets built on the same reference grid (`eodkit merge
** DATASET DATASET... -o DIR`). Their recipes must agree on everything but
** the dataset's description and the modalities' files; the join is the
** build of one recipe over all their files, so every cell appears once
** (made from the files of every dataset that reach into it) and splits and
** guard bands are computed over the union, leakage-safe across datasets.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ek_fs.h"
#include "ek_build.h"

/* The recipe R of dataset DIR, loaded from DIR/recipe.yaml. */
static int load_dataset_recipe(eodkit_ctx *ctx, const char *dir, ek_recipe **r)
{
    char *recipe = ek_path_join(ctx, dir, "recipe.yaml");
    char *collection = ek_path_join(ctx, dir, "collection.json");
    size_t m;
    int rc = recipe == NULL || collection == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;

    *r = NULL;
    if (rc == EODKIT_OK && (!ek_fs_is_file(recipe) || !ek_fs_is_file(collection))) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s: not an eodkit dataset (no recipe.yaml and collection.json)",
                      dir);
    }
    if (rc == EODKIT_OK) {
        rc = eodkit_recipe_load(ctx, recipe, r);
    }
    if (rc == EODKIT_OK && (*r)->system == EK_SYSTEM_NONE) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s: was not built on a reference grid (grid.system); only "
                      "datasets on the same reference grid can be merged",
                      dir);
    }
    for (m = 0; rc == EODKIT_OK && m < (*r)->nmodalities; m++) {
        if ((*r)->modalities[m].stac.present) {
            rc = ek_error(ctx, EODKIT_ERR_INPUT,
                          "%s: modality '%s' reads STAC items; eodkit merge joins "
                          "datasets whose modalities read files (files, files_from, "
                          "band_files) only",
                          dir, (*r)->modalities[m].name);
        }
    }
    free(recipe);
    free(collection);
    return rc;
}

/* R with its modalities' files left out, written as YAML to PATH: what
   recipes of joinable datasets must share. */
static int write_without_files(eodkit_ctx *ctx, const ek_recipe *r, const char *path)
{
    ek_recipe bare = *r;
    ek_modality_recipe *mods = ek_calloc(ctx, r->nmodalities, sizeof *mods);
    ek_band_file *files = NULL;
    size_t m, b, nfiles = 0;
    int rc;

    for (m = 0; m < r->nmodalities; m++) {
        nfiles += r->modalities[m].nband_files;
    }
    files = ek_calloc(ctx, nfiles + 1, sizeof *files);
    if (mods == NULL || files == NULL) {
        free(mods);
        free(files);
        return EODKIT_ERR_NOMEM;
    }
    nfiles = 0;
    for (m = 0; m < r->nmodalities; m++) {
        mods[m] = r->modalities[m];
        mods[m].npatterns = 0;
        if (mods[m].band_files != NULL) {
            mods[m].band_files = files + nfiles;
            for (b = 0; b < mods[m].nband_files; b++) {
                files[nfiles] = r->modalities[m].band_files[b];
                files[nfiles++].npatterns = 0;
            }
        }
    }
    bare.modalities = mods;
    rc = ek_recipe_write_resolved(ctx, &bare, path);
    free(mods);
    free(files);
    return rc;
}

/* The next line of *TEXT (which moves past it), without its newline, in
   LINE (SIZE bytes); 0 at the end. */
static int next_line(const char **text, char *line, size_t size)
{
    size_t n = strcspn(*text, "\n");

    if (**text == '\0') {
        return 0;
    }
    snprintf(line, size, "%.*s", (int)n, *text);
    *text += n + ((*text)[n] == '\n');
    return 1;
}

/* Recipes at A and B (bare, of datasets DA and DB) hold the same lines
   from `grid:` on; else EODKIT_ERR_INPUT quoting the first that differ. */
static int same_recipe(eodkit_ctx *ctx, const char *a, const char *b, const char *da,
                       const char *db)
{
    char *ta = NULL, *tb = NULL, la[512] = "", lb[512] = "";
    const char *pa, *pb;
    size_t na, nb;
    int line = 0, rc, more_a, more_b;

    rc = ek_fs_read_file(ctx, a, &ta, &na);
    if (rc == EODKIT_OK) {
        rc = ek_fs_read_file(ctx, b, &tb, &nb);
    }
    if (rc != EODKIT_OK) {
        free(ta);
        return rc;
    }
    pa = strstr(ta, "\ngrid:");
    pb = strstr(tb, "\ngrid:");
    pa = pa != NULL ? pa + 1 : ta;
    pb = pb != NULL ? pb + 1 : tb;
    do {
        more_a = next_line(&pa, la, sizeof la);
        more_b = next_line(&pb, lb, sizeof lb);
        line++;
    } while (more_a && more_b && strcmp(la, lb) == 0);
    if (more_a || more_b) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s and %s: their recipes differ in more than the modalities' "
                      "files, so they cannot be merged: '%s' against '%s' (line %d "
                      "from grid: in their recipe.yaml)",
                      da, db, more_a ? la : "(end)", more_b ? lb : "(end)", line);
    }
    free(ta);
    free(tb);
    return rc;
}

/* Append to LIST (*N names, *CAP room) the NADD names of ADD it lacks. */
static int add_names(eodkit_ctx *ctx, char ***list, size_t *n, size_t *cap,
                     char *const *add, size_t nadd)
{
    size_t k, j;
    int rc = EODKIT_OK;

    for (k = 0; k < nadd && rc == EODKIT_OK; k++) {
        for (j = 0; j < *n && strcmp((*list)[j], add[k]) != 0; j++) {
        }
        if (j == *n) {
            rc = ek_grow(ctx, (void **)list, cap, *n + 1, sizeof **list);
            if (rc == EODKIT_OK) {
                (*list)[(*n)++] = add[k];
            }
        }
    }
    return rc;
}

/* The recipe of the join: R[0] with each modality (and band) reading the
   files of all N recipes, first R[0]'s, into *OUT, whose arrays are its
   own and whose names are borrowed from R; free with free_joined. */
static int join_recipes(eodkit_ctx *ctx, ek_recipe *const *r, int n, ek_recipe *out)
{
    size_t m, b, cap;
    int k, rc = EODKIT_OK;

    *out = *r[0];
    out->modalities = ek_calloc(ctx, r[0]->nmodalities, sizeof *out->modalities);
    if (out->modalities == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (m = 0; m < r[0]->nmodalities && rc == EODKIT_OK; m++) {
        ek_modality_recipe *mod = &out->modalities[m];

        *mod = r[0]->modalities[m];
        mod->patterns = NULL;
        mod->npatterns = 0;
        cap = 0;
        for (k = 0; k < n && rc == EODKIT_OK; k++) {
            rc = add_names(ctx, &mod->patterns, &mod->npatterns, &cap,
                           r[k]->modalities[m].patterns, r[k]->modalities[m].npatterns);
        }
        if (mod->band_files == NULL || rc != EODKIT_OK) {
            continue;
        }
        mod->band_files = ek_calloc(ctx, mod->nband_files, sizeof *mod->band_files);
        rc = mod->band_files == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
        for (b = 0; b < mod->nband_files && rc == EODKIT_OK; b++) {
            ek_band_file *bf = &mod->band_files[b];

            *bf = r[0]->modalities[m].band_files[b];
            bf->patterns = NULL;
            bf->npatterns = 0;
            cap = 0;
            for (k = 0; k < n && rc == EODKIT_OK; k++) {
                rc = add_names(ctx, &bf->patterns, &bf->npatterns, &cap,
                               r[k]->modalities[m].band_files[b].patterns,
                               r[k]->modalities[m].band_files[b].npatterns);
            }
        }
    }
    return rc;
}

static void free_joined(ek_recipe *j, const ek_recipe *first)
{
    size_t m, b;

    for (m = 0; j->modalities != NULL && m < first->nmodalities; m++) {
        free(j->modalities[m].patterns);
        if (j->modalities[m].band_files != first->modalities[m].band_files) {
            for (b = 0; j->modalities[m].band_files != NULL &&
                        b < j->modalities[m].nband_files;
                 b++) {
                free(j->modalities[m].band_files[b].patterns);
            }
            free(j->modalities[m].band_files);
        }
    }
    free(j->modalities);
}

int eodkit_merge_datasets(eodkit_ctx *ctx, const char *const *datasets, int n,
                          const eodkit_build_options *opt, char **summary)
{
    ek_recipe **recipes = ek_calloc(ctx, (size_t)n + 1, sizeof *recipes), joined;
    eodkit_recipe *built = NULL;
    const char *tmp = getenv("TMPDIR");
    char *dir = ek_asprintf(ctx, "%s/eodkit-merge-XXXXXX", tmp != NULL ? tmp : "/tmp");
    char *first = NULL, *other = NULL, *path = NULL;
    int k, made = 0, rc = recipes == NULL || dir == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;

    *summary = NULL;
    memset(&joined, 0, sizeof joined);
    if (rc == EODKIT_OK && (n < 2 || opt->output_dir == NULL)) {
        rc = ek_error(ctx, EODKIT_ERR_USAGE,
                      "merging datasets needs at least two of them and -o DIR");
    }
    for (k = 0; k < n && rc == EODKIT_OK; k++) {
        rc = load_dataset_recipe(ctx, datasets[k], &recipes[k]);
    }
    if (rc == EODKIT_OK) {
        made = mkdtemp(dir) != NULL;
        rc = made ? EODKIT_OK
                  : ek_error(ctx, EODKIT_ERR_IO, "%s: cannot make a scratch folder",
                             dir);
    }
    if (rc == EODKIT_OK) {
        first = ek_path_join(ctx, dir, "0.yaml");
        other = ek_path_join(ctx, dir, "k.yaml");
        path = ek_path_join(ctx, dir, "recipe.yaml");
        rc = first == NULL || other == NULL || path == NULL ? EODKIT_ERR_NOMEM
                                                            : EODKIT_OK;
    }
    if (rc == EODKIT_OK) {
        rc = write_without_files(ctx, recipes[0], first);
    }
    for (k = 1; k < n && rc == EODKIT_OK; k++) {
        rc = write_without_files(ctx, recipes[k], other);
        if (rc == EODKIT_OK) {
            rc = same_recipe(ctx, first, other, datasets[0], datasets[k]);
        }
    }
    if (rc == EODKIT_OK) {
        rc = join_recipes(ctx, recipes, n, &joined);
    }
    if (rc == EODKIT_OK) {
        rc = ek_recipe_write_resolved(ctx, &joined, path);
    }
    if (rc == EODKIT_OK) {
        rc = eodkit_recipe_load(ctx, path, &built);
    }
    if (rc == EODKIT_OK) {
        rc = eodkit_build(ctx, built, opt, summary);
    }
    if (made) {
        eodkit_ctx quiet = {0};

        ek_fs_remove_tree(&quiet, dir); /* the scratch recipes only */
    }
    if (recipes != NULL && recipes[0] != NULL) {
        free_joined(&joined, recipes[0]);
    }
    for (k = 0; recipes != NULL && k < n; k++) {
        eodkit_recipe_free(recipes[k]);
    }
    eodkit_recipe_free(built);
    free(recipes);
    free(dir);
    free(first);
    free(other);
    free(path);
    return rc;
}
