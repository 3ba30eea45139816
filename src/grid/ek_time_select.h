/*
** Plan: which acquisitions of a time modality a build may use. A mosaic or
** stack keeps those between time.from and time.to; a change pair
** (`time: {mode: pair}`) keeps those of its before and after periods, and
** each chip takes one acquisition of each.
*/
#ifndef EK_TIME_SELECT_H
#define EK_TIME_SELECT_H

#include "ek_plan.h"

/* Whether time recipe T keeps an acquisition made at TIME. */
int ek_time_keeps(const ek_time_recipe *t, int64_t time);

/* The step of a pair that an acquisition made at TIME can fill: 0 in the
   before period, 1 in the after period; -1 outside both, or when T is not
   a pair. */
int ek_time_period(const ek_time_recipe *t, int64_t time);

/*
** Check that modality M (its distinct times listed) holds the acquisitions
** its time mode needs: a stack at least time.count, a pair at least one in
** each period. Else EODKIT_ERR_INPUT naming the recipe line and what the
** files hold.
*/
int ek_time_check_acquisitions(eodkit_ctx *ctx, const ek_recipe *r,
                               const ek_modality *m);

#endif
