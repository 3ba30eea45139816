/*
** Recipe: what the recipe parser's files share (recipe.c parses the
** document and most sections, modality.c the modalities).
*/
#ifndef EK_RECIPE_PARSE_H
#define EK_RECIPE_PARSE_H

#include "ek_yaml.h"

/* Parse modality node N of recipe R into M (M is R->modalities[i], already
   counted in R->nmodalities so eodkit_recipe_free releases it on failure). */
int ek_recipe_parse_modality(ek_yaml *y, ek_recipe *r, ek_modality_recipe *m,
                             yaml_node_t *n);

/* Fail at NODES[i] when TEXTS[i] (of N) equals an earlier text, or, with
   FOLD, differs from one only in ASCII case (as file names on macOS and
   Windows do). Sorts, so long lists stay fast. */
int ek_recipe_check_distinct(ek_yaml *y, const char *what, const char *const *texts,
                             yaml_node_t *const *nodes, size_t n, int fold);

/* Release what ek_recipe_parse_modality allocated in M. */
void ek_recipe_free_modality(ek_modality_recipe *m);

/* A resampling word (nearest, bilinear, ...) at N into *ALG (a
   GDALResampleAlg); WHAT names the key in messages. */
int ek_recipe_parse_resampling(ek_yaml *y, yaml_node_t *n, const char *what, int *alg);

/* labels.source (one path, or for task change two: before, after) or
   labels.table of labels mapping N into R->labels (labels_task.c); the
   task is known. */
int ek_recipe_parse_label_source(ek_yaml *y, ek_recipe *r, yaml_node_t *n);

/* The task-specific keys of labels mapping N (pair, resampling, nodata, the
   table's keys), after the common ones: refuses keys the task does not
   use and checks that a change task has two images per chip. */
int ek_recipe_parse_label_task(ek_yaml *y, ek_recipe *r, yaml_node_t *n);

/* Release what the two above allocated in L. */
void ek_recipe_free_label_task(ek_labels_recipe *l);

#endif
