/*
** Plan: time selection. Which acquisitions a time modality keeps (from/to,
** or the two periods of a change pair) and whether enough are left for
** what it makes of them. The choice per chip is made while reading
** (build/read_modality.c).
*/
#include <stdio.h>

#include "core/ek_time.h"
#include "ek_time_select.h"

int ek_time_keeps(const ek_time_recipe *t, int64_t time)
{
    if (t->pair) {
        return ek_time_period(t, time) >= 0;
    }
    return !(t->has_from && time < t->from) && !(t->has_to && time > t->to);
}

int ek_time_period(const ek_time_recipe *t, int64_t time)
{
    int s;

    for (s = 0; t->pair && s < 2; s++) {
        if (time >= t->periods[s].from && time <= t->periods[s].to) {
            return s;
        }
    }
    return -1;
}

/* "2017-01-01T00:00:00Z to 2017-12-31T23:59:59Z" (open ends: "...") of
   period P into BUF. */
static void period_text(const ek_period *p, char *buf, size_t size)
{
    char from[32] = "...", to[32] = "...";

    if (p->from != INT64_MIN) {
        ek_time_format(p->from, from, sizeof from);
    }
    if (p->to != INT64_MAX) {
        ek_time_format(p->to, to, sizeof to);
    }
    snprintf(buf, size, "%s to %s", from, to);
}

int ek_time_check_acquisitions(eodkit_ctx *ctx, const ek_recipe *r,
                               const ek_modality *m)
{
    static const char *const names[] = {"before", "after"};
    const ek_time_recipe *t = &m->recipe->time;
    char where[512], range[80];
    size_t i, found[2] = {0, 0};
    int s;

    ek_recipe_where(r, t->mark, where, sizeof where);
    if (!t->pair) {
        if (t->mode == EK_TIME_STACK && m->ntimes < (size_t)t->count) {
            return ek_error(ctx, EODKIT_ERR_INPUT,
                            "%s: modality '%s': time.count is %d but the files hold "
                            "%zu acquisition%s",
                            where, m->recipe->name, t->count, m->ntimes,
                            m->ntimes == 1 ? "" : "s");
        }
        return EODKIT_OK;
    }
    for (i = 0; i < m->ntimes; i++) {
        s = ek_time_period(t, m->times[i]);
        found[s >= 0 ? s : 0] += s >= 0;
    }
    for (s = 0; s < 2; s++) {
        if (found[s] == 0) {
            period_text(&t->periods[s], range, sizeof range);
            ek_recipe_where(r, t->periods[s].mark, where, sizeof where);
            return ek_error(ctx, EODKIT_ERR_INPUT,
                            "%s: modality '%s': no acquisition in the %s period (%s), "
                            "so no chip can have a pair; the files hold %zu "
                            "acquisition%s in the other period",
                            where, m->recipe->name, names[s], range, found[1 - s],
                            found[1 - s] == 1 ? "" : "s");
        }
    }
    return EODKIT_OK;
}
