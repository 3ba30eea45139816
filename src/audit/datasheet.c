/*
** Audit: datasheet.md, the questions of "Datasheets for Datasets" (Gebru et
** al., CACM 2021) answered with this dataset's own numbers: from
** collection.json, stats.json, provenance.json, the resolved recipe and
** audit.json. What the files cannot tell is marked for the curator to fill.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ek_fs.h"
#include "ek_audit.h"

#define CURATOR "**Curator:** "

static const char *text(const json_t *o, const char *key, const char *fallback)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s != NULL && s[0] != '\0' ? s : fallback;
}

static long long integer(const json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

/* S for a Markdown table cell: '|' escaped, line breaks as spaces. */
static void md_cell(ek_strbuf *b, const char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        if (*s == '|') {
            ek_strbuf_puts(b, "\\|");
        } else if (*s == '\n' || *s == '\r') {
            ek_strbuf_puts(b, " ");
        } else {
            ek_strbuf_add(b, s, 1);
        }
    }
}

static void number(ek_strbuf *b, const json_t *v)
{
    if (json_is_integer(v)) {
        ek_strbuf_printf(b, "%lld", (long long)json_integer_value(v));
    } else if (json_is_number(v)) {
        ek_strbuf_printf(b, "%.6g", json_number_value(v));
    } else {
        ek_strbuf_puts(b, "n/a");
    }
}

/* Nonzero when the dataset has labels (collection.json's eodkit:label). */
static int labelled(const ek_audit_docs *d)
{
    return json_object_get(d->collection, "eodkit:label") != NULL;
}

static void motivation(ek_strbuf *b, const ek_audit_docs *d)
{
    const json_t *providers = json_object_get(d->collection, "providers"), *p, *role;
    size_t i, k;

    ek_strbuf_puts(b,
                   "## Motivation\n\n**For what purpose was the dataset created?** ");
    ek_strbuf_puts(
        b, text(d->collection, "description", "(no description in the recipe)"));
    ek_strbuf_printf(
        b, "\n\n" CURATOR "say which task and which gap in existing datasets it "
           "addresses.\n\n**Who created the dataset, on behalf of which entity?** ");
    if (json_array_size(providers) == 0) {
        ek_strbuf_puts(b,
                       "The recipe names no providers. " CURATOR "name the creators.");
    }
    json_array_foreach(providers, i, p)
    {
        ek_strbuf_printf(b, "%s%s", i ? "; " : "", text(p, "name", "?"));
        if (json_array_size(json_object_get(p, "roles")) > 0) {
            ek_strbuf_puts(b, " (");
            json_array_foreach(json_object_get(p, "roles"), k, role)
            {
                ek_strbuf_printf(b, "%s%s", k ? ", " : "", json_string_value(role));
            }
            ek_strbuf_puts(b, ")");
        }
        if (json_is_string(json_object_get(p, "url"))) {
            ek_strbuf_printf(b, ", <%s>", text(p, "url", ""));
        }
    }
    ek_strbuf_puts(b, "\n\n**Who funded the creation of the dataset?** " CURATOR
                      "name the funders and grants.\n\n");
}

static void modalities_table(ek_strbuf *b, const ek_audit_docs *d)
{
    const json_t *mods = json_object_get(d->collection, "eodkit:modalities"), *m, *band;
    size_t i, k;

    ek_strbuf_puts(
        b, "| modality | kind | sensor | platform | dtype | chip shape | nodata | "
           "bands |\n|---|---|---|---|---|---|---|---|\n");
    json_array_foreach(mods, i, m)
    {
        const json_t *shape = json_object_get(m, "shape"), *dim;

        ek_strbuf_puts(b, "| ");
        md_cell(b, text(m, "name", "?"));
        ek_strbuf_puts(b, " | ");
        md_cell(b, text(m, "kind", "-"));
        ek_strbuf_puts(b, " | ");
        md_cell(b, text(m, "sensor", "-"));
        ek_strbuf_puts(b, " | ");
        md_cell(b, text(m, "platform", "-"));
        ek_strbuf_printf(b, " | %s | ", text(m, "dtype", "?"));
        json_array_foreach(shape, k, dim)
        {
            ek_strbuf_printf(b, "%s%lld", k ? " x " : "",
                             (long long)json_integer_value(dim));
        }
        ek_strbuf_puts(b, " | ");
        number(b, json_object_get(m, "nodata"));
        ek_strbuf_puts(b, " | ");
        json_array_foreach(json_object_get(m, "bands"), k, band)
        {
            ek_strbuf_puts(b, k ? ", " : "");
            md_cell(b, text(band, "name", "?"));
        }
        ek_strbuf_puts(b, " |\n");
    }
}

static void band_statistics(ek_strbuf *b, const ek_audit_docs *d)
{
    const json_t *mods = json_object_get(d->stats, "modalities"), *m, *band;
    const char *name;
    size_t k;

    ek_strbuf_printf(
        b,
        "\nBand statistics over the `%s` split (%lld chips; nodata left out):\n\n"
        "| modality | band | valid values | mean | std | min | max | 2nd "
        "percentile | 98th percentile |\n|---|---|---|---|---|---|---|---|---|\n",
        text(d->stats, "split", "train"), integer(d->stats, "chips"));
    json_object_foreach((json_t *)mods, name, m)
    {
        json_array_foreach(json_object_get(m, "bands"), k, band)
        {
            const json_t *pct = json_object_get(band, "percentiles");
            const json_t *values[] = {
                json_object_get(band, "mean"), json_object_get(band, "std"),
                json_object_get(band, "min"),  json_object_get(band, "max"),
                json_object_get(pct, "2"),     json_object_get(pct, "98"),
            };
            size_t v;

            ek_strbuf_puts(b, "| ");
            md_cell(b, name);
            ek_strbuf_puts(b, " | ");
            md_cell(b, text(band, "name", "?"));
            ek_strbuf_printf(b, " | %lld |", integer(band, "valid_count"));
            for (v = 0; v < sizeof values / sizeof values[0]; v++) {
                ek_strbuf_puts(b, " ");
                number(b, values[v]);
                ek_strbuf_puts(b, " |");
            }
            ek_strbuf_puts(b, "\n");
        }
    }
}

static void classes_table(ek_strbuf *b, const ek_audit_docs *d)
{
    const json_t *classes = json_object_get(d->audit, "classes");
    const json_t *splits =
        json_object_get(json_object_get(d->audit, "dataset"), "splits");
    const char *id, *split;
    json_t *name, *ignored;

    if (!json_is_object(classes)) {
        ek_strbuf_puts(b,
                       "\n**Is there a label associated with each instance?** No: the "
                       "dataset has no labels.\n");
        return;
    }
    ek_strbuf_printf(
        b,
        "\n**Is there a label associated with each instance?** Yes: task `%s`; "
        "pixels per class and chips holding the class, per split:\n\n| class | id |",
        text(classes, "task", "?"));
    json_object_foreach((json_t *)splits, split, ignored)
    {
        ek_strbuf_printf(b, " %s pixels | %s chips |", split, split);
    }
    ek_strbuf_puts(b, "\n|---|---|");
    json_object_foreach((json_t *)splits, split, ignored)
    {
        ek_strbuf_puts(b, "---|---|");
    }
    ek_strbuf_puts(b, "\n");
    json_object_foreach(json_object_get(classes, "names"), id, name)
    {
        ek_strbuf_puts(b, "| ");
        md_cell(b, json_string_value(name) != NULL ? json_string_value(name) : id);
        ek_strbuf_printf(b, " | %s |", id);
        json_object_foreach((json_t *)splits, split, ignored)
        {
            ek_strbuf_printf(
                b, " %lld | %lld |",
                integer(json_object_get(json_object_get(classes, "pixels"), split), id),
                integer(json_object_get(json_object_get(classes, "chips"), split), id));
        }
        ek_strbuf_puts(b, "\n");
    }
}

static void geography(ek_strbuf *b, const ek_audit_docs *d)
{
    const json_t *geo = json_object_get(d->audit, "geography");
    const json_t *bias = json_object_get(d->audit, "bias");
    const char *key;
    json_t *v;
    size_t k = 0;

    ek_strbuf_puts(
        b, "\n**Where on Earth are the instances?** Chips per continent (share; the "
           "review's share of EO datasets in brackets):\n\n");
    json_object_foreach(json_object_get(geo, "continents"), key, v)
    {
        if (integer(v, "chips") == 0) {
            continue;
        }
        ek_strbuf_printf(b, "- %s: %lld chips (%.1f%%", key, integer(v, "chips"),
                         100 * json_number_value(json_object_get(v, "share")));
        if (json_is_number(json_object_get(v, "reference_share"))) {
            ek_strbuf_printf(
                b, "; review %.1f%%",
                100 * json_number_value(json_object_get(v, "reference_share")));
        }
        ek_strbuf_puts(b, ")\n");
    }
    ek_strbuf_puts(b, "\nCountries: ");
    json_object_foreach(json_object_get(geo, "countries"), key, v)
    {
        ek_strbuf_printf(b, "%s%s", k++ ? ", " : "", key);
        if (json_is_string(json_object_get(v, "name"))) {
            ek_strbuf_printf(b, " (%s)", text(v, "name", ""));
        }
        ek_strbuf_printf(b, " %lld", integer(v, "chips"));
    }
    ek_strbuf_puts(b, ".\n\nBias indices: ");
    if (json_is_number(json_object_get(bias, "outside_europe_north_america"))) {
        ek_strbuf_printf(b,
                         "%.1f%% of land chips lie outside Europe and North America "
                         "(the review found "
                         "61%% of EO datasets do); ",
                         100 * json_number_value(json_object_get(
                                   bias, "outside_europe_north_america")));
    }
    ek_strbuf_puts(b, "normalised entropy across continents ");
    number(b, json_object_get(bias, "continent_entropy"));
    ek_strbuf_puts(b, ", across classes ");
    number(b, json_object_get(bias, "class_entropy"));
    ek_strbuf_puts(b,
                   " (1 = even). The columns `weight_continent` and `weight_class` of "
                   "index.gpkg hold sampling weights that even them out.\n");
}

static void composition(ek_strbuf *b, const ek_audit_docs *d)
{
    const json_t *grid = json_object_get(d->collection, "eodkit:grid");
    const json_t *pgrid = json_object_get(d->provenance, "grid");
    const json_t *ds = json_object_get(d->audit, "dataset");
    const json_t *leak = json_object_get(d->audit, "leakage");
    const json_t *nodata = json_object_get(d->audit, "nodata");
    const json_t *sample = json_object_get(d->audit, "sample");
    const char *filters = labelled(d) ? "nodata, labelled share" : "nodata";
    const json_t *chip = json_object_get(grid, "chip_size"),
                 *stride = json_object_get(grid, "stride");
    const char *split;
    json_t *v;

    ek_strbuf_printf(
        b,
        "## Composition\n\n**What do the instances represent?** Chips of %lld x "
        "%lld pixels cut every %lld x %lld pixels from one grid (%s, pixels of "
        "%g x %g %s); every modality of a chip covers the same ground, pixel for "
        "pixel.%s\n\n",
        (long long)json_integer_value(json_array_get(chip, 0)),
        (long long)json_integer_value(json_array_get(chip, 1)),
        (long long)json_integer_value(json_array_get(stride, 0)),
        (long long)json_integer_value(json_array_get(stride, 1)),
        text(grid, "crs", "a custom CRS"),
        json_number_value(json_array_get(json_object_get(grid, "resolution"), 0)),
        json_number_value(json_array_get(json_object_get(grid, "resolution"), 1)),
        text(json_object_get(ds, "grid"), "units", "CRS units"),
        json_integer_value(json_array_get(stride, 0)) <
                json_integer_value(json_array_get(chip, 0))
            ? " The stride is smaller than the chip: neighbouring chips overlap."
            : "");
    ek_strbuf_printf(b,
                     "**How many instances are there?** %lld chips:\n\n| split | chips "
                     "|\n|---|---|\n",
                     integer(ds, "chips"));
    json_object_foreach(json_object_get(ds, "splits"), split, v)
    {
        ek_strbuf_puts(b, "| ");
        md_cell(b, split);
        ek_strbuf_printf(b, " | %lld |\n", (long long)json_integer_value(v));
    }
    if (json_is_object(sample)) {
        ek_strbuf_printf(
            b,
            "\n**Does the dataset contain all possible instances?** No, a sample: of "
            "the %lld candidate chips (chip positions inside the area every modality "
            "and the area of interest cover), the recipe's `sample` chose %lld before "
            "any pixel was read, grouped by %s (per group: `sample` in audit.json); "
            "it holds %lld of those, the others failed the recipe's filters (%s) "
            "or fell in the guard band between splits.\n\n",
            integer(sample, "candidates"), integer(sample, "chosen"),
            text(sample, "by", "?"), integer(ds, "chips"), filters);
    } else {
        ek_strbuf_printf(
            b,
            "\n**Does the dataset contain all possible instances?** It holds %lld of "
            "the %lld candidate chips (chip positions inside the area every modality "
            "and the area of interest cover); the others failed the recipe's filters "
            "(%s) or fell in the guard band between splits.\n\n",
            integer(ds, "chips"), integer(pgrid, "candidate_chips"), filters);
    }
    ek_strbuf_puts(b, "**What data does each instance consist of?**\n\n");
    modalities_table(b, d);
    band_statistics(b, d);
    classes_table(b, d);
    ek_strbuf_printf(
        b,
        "\n**Are there recommended data splits?** Yes, split method `%s`. The "
        "audit finds %lld grid pixels shared by chips of different splits and a "
        "smallest distance of ",
        text(leak, "method", "?"), integer(leak, "shared_pixels"));
    number(b, json_object_get(leak, "min_distance_pixels"));
    ek_strbuf_printf(b, " pixels between them (verdict: %s).\n",
                     text(leak, "verdict", "?"));
    geography(b, d);
    ek_strbuf_puts(b, "\n**Is any information missing from individual instances?** "
                      "Pixels no input covers hold the nodata value");
    if (json_is_number(json_object_get(nodata, "share"))) {
        ek_strbuf_printf(
            b,
            ": %lld of %lld chips hold some, %.1f%% of all pixels (at most %.1f%% of "
            "one chip)",
            integer(nodata, "with_nodata"), integer(nodata, "chips"),
            100 * json_number_value(json_object_get(nodata, "share")),
            100 * json_number_value(json_object_get(nodata, "max")));
    }
    ek_strbuf_printf(
        b,
        "; `nodata_frac` in index.gpkg gives the share per chip.\n\n**Are there "
        "errors, sources of noise, or redundancies?** " CURATOR
        "describe %smisregistration and cloud cover.\n\n"
        "**Does the dataset contain data that might be considered confidential or "
        "sensitive?** " CURATOR "say whether people, vehicles or private property "
        "can be identified at this resolution.\n\n",
        labelled(d) ? "label quality, " : "");
}

static void collection_process(ek_strbuf *b, const ek_audit_docs *d)
{
    const json_t *inputs = json_object_get(d->provenance, "inputs"), *in;
    const json_t *time_s = json_object_get(d->audit, "time");
    const char *year;
    json_t *v;
    size_t i, k = 0;

    ek_strbuf_puts(b,
                   "## Collection process\n\n**How was the data acquired?** From these "
                   "input files (SHA-256 checksums, so the inputs can be verified):\n\n"
                   "| role | of | file | bytes | sha256 |\n|---|---|---|---|---|\n");
    json_array_foreach(inputs, i, in)
    {
        ek_strbuf_puts(b, "| ");
        md_cell(b, text(in, "role", "-"));
        ek_strbuf_puts(b, " | ");
        md_cell(b, text(in, "of", "-"));
        ek_strbuf_puts(b, " | ");
        md_cell(b, ek_path_basename(text(in, "path", "?")));
        if (json_object_get(in, "sha256") == NULL) { /* remote: never downloaded */
            ek_strbuf_printf(b, " | %lld | ETag `%s`, %s |\n", integer(in, "bytes"),
                             text(in, "etag", "-"), text(in, "last_modified", "-"));
        } else {
            ek_strbuf_printf(b, " | %lld | `%s` |\n", integer(in, "bytes"),
                             text(in, "sha256", "?"));
        }
    }
    ek_strbuf_puts(b, "\n**Over what timeframe was the data collected?** ");
    if (integer(time_s, "known") == 0) {
        ek_strbuf_printf(b,
                         "Unknown: the index records no acquisition time. " CURATOR
                         "give the acquisition dates of the imagery%s.\n\n",
                         labelled(d) ? " and of the labels" : "");
    } else {
        ek_strbuf_printf(b, "Acquisition years (chips): ");
        json_object_foreach(json_object_get(time_s, "years"), year, v)
        {
            ek_strbuf_printf(b, "%s%s: %lld", k++ ? ", " : "", year,
                             (long long)json_integer_value(v));
        }
        ek_strbuf_printf(b, "; unknown for %lld chips.\n\n",
                         integer(time_s, "unknown"));
    }
    ek_strbuf_puts(b, "**Were any ethical review processes conducted?** " CURATOR
                      "say so, or that none were needed.\n\n");
}

static void preprocessing(ek_strbuf *b, const ek_audit_docs *d)
{
    const json_t *read = json_object_get(d->provenance, "read"), *m;
    const json_t *label = json_object_get(d->collection, "eodkit:label");
    const json_t *versions = json_object_get(d->provenance, "versions");
    const char *name;

    ek_strbuf_puts(
        b, "## Preprocessing, cleaning, labelling\n\nEvery modality was read onto "
           "the grid with GDAL:\n\n");
    json_object_foreach((json_t *)read, name, m)
    {
        ek_strbuf_printf(b, "- `%s`: resampling `%s`, warper error threshold ", name,
                         text(m, "resampling", "?"));
        number(b, json_object_get(m, "error_threshold"));
        ek_strbuf_puts(b, " pixels\n");
    }
    if (label != NULL) {
        ek_strbuf_printf(
            b,
            "\nLabels come from a %s source; unlabelled pixels hold class %lld "
            "(%s).\n",
            text(label, "type", "?"),
            (long long)json_integer_value(
                json_object_get(json_object_get(label, "background"), "id")),
            text(json_object_get(label, "background"), "name", "background"));
    }
    ek_strbuf_printf(
        b,
        "\nSoftware: eodkit %s, GDAL %s, PROJ %s. The recipe that built the "
        "dataset is `recipe.yaml` in the dataset (appended below): the same "
        "recipe and inputs rebuild it byte for byte.\n\n",
        text(versions, "eodkit", "?"), text(versions, "gdal", "?"),
        text(versions, "proj", "?"));
    ek_strbuf_puts(b,
                   "**Is the raw data saved?** The inputs are listed above with their "
                   "checksums. " CURATOR "say where they can be obtained.\n\n");
}

static void uses(ek_strbuf *b, const ek_audit_docs *d)
{
    const json_t *leak = json_object_get(d->audit, "leakage");

    ek_strbuf_puts(b, "## Uses\n\n**What tasks could the dataset be used for?** ");
    if (labelled(d)) {
        ek_strbuf_printf(b, "Training and evaluating models for %s. ",
                         text(json_object_get(d->audit, "dataset"), "task", "?"));
    } else {
        ek_strbuf_puts(
            b, "It has no labels: self-supervised pre-training (e.g. masked "
               "reconstruction or contrastive learning) and other uses of unlabelled "
               "imagery; fine-tune and evaluate on a labelled dataset. ");
    }
    ek_strbuf_puts(b, CURATOR "list known uses and papers.\n\n");
    ek_strbuf_puts(
        b, "**Is there anything about the composition that might impact future "
           "uses?** The geography above is what models trained on it will know; "
           "results elsewhere need their own test data. ");
    if (json_is_true(json_object_get(leak, "leaky"))) {
        ek_strbuf_puts(
            b, "The splits leak (see audit.json and audit.html): scores on them "
               "overstate how a model does on new places. ");
    }
    ek_strbuf_puts(
        b, "\n\n**Are there tasks for which the dataset should not be used?** " CURATOR
           "name them.\n\n");
}

static void distribution(ek_strbuf *b, const ek_audit_docs *d)
{
    ek_strbuf_printf(
        b,
        "## Distribution\n\n**Under which licence is the dataset distributed?** "
        "`%s`.\n\n**How should it be cited?** %s\n\n**In what format?** NumPy "
        ".npy arrays per split, a GeoPackage chip index, a STAC collection and "
        "JSON statistics (eodkit's doc/format.md).\n\n**How will the dataset be "
        "distributed?** " CURATOR "give the place (DOI, URL).\n\n",
        text(d->collection, "license", "proprietary"),
        text(d->collection, "eodkit:citation",
             "The recipe gives no citation. " CURATOR "add one."));
}

static void maintenance(ek_strbuf *b, const ek_audit_docs *d)
{
    ek_strbuf_printf(
        b,
        "## Maintenance\n\n**Who maintains the dataset, and how can they be "
        "contacted?** " CURATOR "name them.\n\n**Will the dataset be "
        "updated?** Version: %s. " CURATOR "say how updates are announced.\n\n",
        text(d->collection, "version", "none given"));
    if (d->recipe != NULL) {
        ek_strbuf_puts(b, "## Appendix: the recipe\n\n```yaml\n");
        ek_strbuf_puts(b, d->recipe);
        ek_strbuf_puts(b,
                       d->recipe[0] != '\0' && d->recipe[strlen(d->recipe) - 1] == '\n'
                           ? "```\n"
                           : "\n```\n");
    }
}

int ek_audit_datasheet_write(eodkit_ctx *ctx, const char *path, const ek_audit_docs *d)
{
    ek_strbuf b;
    char *out = NULL;
    int rc;

    ek_strbuf_init(&b, ctx);
    ek_strbuf_puts(&b, "# Datasheet: ");
    ek_strbuf_puts(&b,
                   text(d->collection, "title", text(d->collection, "id", "dataset")));
    ek_strbuf_printf(
        &b,
        "\n\nThe questions of *Datasheets for Datasets* (Gebru et al., 2021), "
        "answered by %s from this dataset's own files (`collection.json`, "
        "`stats.json`, `provenance.json`, `audit.json`). Lines marked " CURATOR
        "ask for what the files cannot tell.\n\n",
        text(d->audit, "generator", "eodkit"));
    motivation(&b, d);
    composition(&b, d);
    collection_process(&b, d);
    preprocessing(&b, d);
    uses(&b, d);
    distribution(&b, d);
    maintenance(&b, d);
    rc = ek_strbuf_detach(&b, &out);
    if (rc == EODKIT_OK) {
        rc = ek_fs_write_file(ctx, path, out, strlen(out));
    }
    free(out);
    return rc;
}
