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

/* Release what ek_recipe_parse_modality allocated in M. */
void ek_recipe_free_modality(ek_modality_recipe *m);

#endif
