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

#endif
