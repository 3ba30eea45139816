/*
** Audit: the HTML report, one self-contained file (inline CSS and SVG, a few
** lines of script, nothing fetched). Every number it shows is read from
** audit.json and carries the JSON pointer it came from (data-k) and its
** format (data-f), so a test can check the page against the document.
*/
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ek_fs.h"
#include "core/ek_palette.h"
#include "ek_audit.h"

#define PTR_MAX 512
#define CHART_W 900.0
#define TOP_COUNTRIES 20

#define BACKGROUND_COLOUR "#d1d5db"

static const char style[] =
    ":root{--ink:#1f2937;--muted:#6b7280;--line:#e5e7eb;--bg:#f6f8fa;--card:#fff;"
    "--accent:#0f766e;--warn:#b91c1c}"
    "*{box-sizing:border-box}"
    "body{margin:0;font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica "
    "Neue',"
    "Arial,'DejaVu Sans',sans-serif;color:var(--ink);background:var(--bg)}"
    "header.top{background:linear-gradient(135deg,#0f172a,#134e4a);color:#f8fafc;"
    "padding:30px 40px 22px}"
    ".kicker{text-transform:uppercase;letter-spacing:.12em;font-size:12px;color:#"
    "99f6e4}"
    "h1{margin:.15em 0 .1em;font-size:30px;line-height:1.2}"
    ".sub{color:#cbd5e1;margin:0 0 12px}"
    ".legend{display:flex;flex-wrap:wrap;gap:6px 18px;align-items:center}"
    ".legend span{display:inline-flex;align-items:center;gap:6px;cursor:default}"
    ".sw{display:inline-block;width:12px;height:12px;border-radius:3px}"
    "nav{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:13px;margin-top:14px}"
    "nav a{color:#99f6e4;text-decoration:none}"
    "main{max-width:1120px;margin:0 auto;padding:8px 24px 60px}"
    "section{background:var(--card);border:1px solid var(--line);border-radius:12px;"
    "padding:20px 24px;margin:20px 0;box-shadow:0 1px 2px rgba(15,23,42,.05)}"
    "h2{font-size:19px;margin:0 0 4px}"
    "h3{font-size:15px;margin:16px 0 6px}"
    ".note{color:var(--muted);font-size:13px;margin:0 0 12px}"
    ".cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:"
    "14px;"
    "background:none;border:0;box-shadow:none;padding:0}"
    ".card{background:var(--card);border:1px solid var(--line);border-radius:12px;"
    "padding:14px 16px}"
    ".card "
    ".v{font-size:28px;font-weight:700;display:block;font-variant-numeric:tabular-nums}"
    ".card .l{color:var(--muted);font-size:13px}"
    ".card.bad{border-color:#fca5a5;background:#fff7f7}.card.bad .v{color:var(--warn)}"
    ".card.good .v{color:var(--accent)}"
    ".alarm{background:#fef2f2;border:2px solid #dc2626;color:#7f1d1d}"
    ".alarm h2{color:var(--warn);font-size:22px}"
    ".alarm li{margin:6px 0}"
    ".ok{background:#f0fdf4;border-color:#86efac}"
    "table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums;font-"
    "size:14px}"
    "th,td{text-align:right;padding:4px 8px;border-bottom:1px solid var(--line)}"
    "th{color:var(--muted);font-weight:600}"
    "th:first-child,td:first-child{text-align:left}"
    "table.w td:nth-child(2),table.w th:nth-child(2){text-align:left}"
    "svg{display:block;width:100%;height:auto;margin:0 auto}"
    "svg.hist{max-width:420px;margin:0}"
    "svg text{font-size:12px;fill:var(--ink)}"
    "svg text.m{fill:var(--muted)}"
    ".map .sea{fill:#eaf4fb}"
    ".world .land path{stroke:#fff;stroke-width:.4}"
    ".graticule line{stroke:#cbd5e1;stroke-width:.5}"
    ".density circle{fill:#dc2626;stroke:#fff;stroke-width:.8}"
    ".density circle.halo{fill:#dc2626;fill-opacity:.12;stroke:none}"
    ".splitmap .land path{fill:#f8fafc;stroke:#94a3b8;stroke-width:1}"
    ".splitmap .chips rect{fill-opacity:.5}.splitmap .chips rect.cell{fill-opacity:.8}"
    ".splitmap .chips{shape-rendering:crispEdges}"
    ".grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:"
    "10px 24px}"
    "footer{color:var(--muted);font-size:13px;text-align:center;padding:10px}";

/* ---- numbers ---- */

/* Write into BUF (SIZE bytes) the JSON pointer made of the NULL-terminated
   list of keys that follows, escaped as RFC 6901 says; return BUF. */
static const char *pointer(char *buf, size_t size, ...)
{
    va_list ap;
    const char *key;
    size_t used = 0;

    buf[0] = '\0';
    va_start(ap, size);
    while ((key = va_arg(ap, const char *)) != NULL) {
        if (used + 1 < size) {
            buf[used++] = '/';
        }
        for (; *key != '\0' && used + 2 < size; key++) {
            if (*key == '~' || *key == '/') {
                buf[used++] = '~';
                buf[used++] = *key == '~' ? '0' : '1';
            } else {
                buf[used++] = *key;
            }
        }
        buf[used] = '\0';
    }
    va_end(ap);
    return buf;
}

/* The value at JSON pointer PTR (RFC 6901) of ROOT, or NULL. */
static json_t *json_at(const json_t *root, const char *ptr)
{
    json_t *at = (json_t *)root;
    char key[PTR_MAX];

    while (at != NULL && *ptr == '/') {
        size_t n = 0;

        for (ptr++; *ptr != '\0' && *ptr != '/' && n + 1 < sizeof key; ptr++) {
            if (*ptr == '~' && (ptr[1] == '0' || ptr[1] == '1')) {
                key[n++] = ptr[1] == '0' ? '~' : '/';
                ptr++;
            } else {
                key[n++] = *ptr;
            }
        }
        key[n] = '\0';
        if (json_is_array(at)) {
            at = json_array_get(at, (size_t)strtoul(key, NULL, 10));
        } else {
            at = json_object_get(at, key);
        }
    }
    return at;
}

/* V as FMT says (see html_number). */
static void format_number(const json_t *v, const char *fmt, char *out, size_t size)
{
    double x = json_number_value(v);

    if (!json_is_number(v)) {
        snprintf(out, size, "n/a");
    } else if (strcmp(fmt, "int") == 0) {
        char digits[32];
        long long n =
            json_is_integer(v) ? (long long)json_integer_value(v) : llround(x);
        size_t len, i, o = 0;

        snprintf(digits, sizeof digits, "%lld", n < 0 ? -n : n);
        len = strlen(digits);
        if (n < 0 && o + 1 < size) {
            out[o++] = '-';
        }
        for (i = 0; i < len && o + 2 < size; i++) {
            if (i > 0 && (len - i) % 3 == 0) {
                out[o++] = ',';
            }
            out[o++] = digits[i];
        }
        out[o] = '\0';
    } else if (strcmp(fmt, "pct") == 0) {
        snprintf(out, size, "%.1f%%", x * 100);
    } else if (strcmp(fmt, "f3") == 0) {
        snprintf(out, size, "%.3f", x);
    } else {
        snprintf(out, size, "%.6g", x);
    }
}

/*
** Append the number at JSON pointer PTR of AUDIT to B as
** <TAG ATTRS data-k="PTR" data-f="FMT">text</TAG>, so tests can check every
** number shown against audit.json. FMT: "int" (1,234), "pct" (12.3%), "f3"
** (0.123), "g" (%.6g). null shows as "n/a". ATTRS may be "".
*/
static void html_number(ek_strbuf *b, const json_t *audit, const char *tag,
                        const char *attrs, const char *ptr, const char *fmt)
{
    char text[64];

    format_number(json_at(audit, ptr), fmt, text, sizeof text);
    ek_strbuf_printf(b, "<%s%s%s data-k=\"", tag, attrs[0] != '\0' ? " " : "", attrs);
    ek_strbuf_xml(b, ptr);
    ek_strbuf_printf(b, "\" data-f=\"%s\">%s</%s>", fmt, text, tag);
}

/* Shorthands: a number in a <span> / table cell / SVG <text> at X, Y. */
static void num(ek_strbuf *b, const json_t *doc, const char *ptr, const char *fmt)
{
    html_number(b, doc, "span", "", ptr, fmt);
}

static void cell(ek_strbuf *b, const json_t *doc, const char *ptr, const char *fmt)
{
    html_number(b, doc, "td", "", ptr, fmt);
}

static void svg_num(ek_strbuf *b, const json_t *doc, double x, double y,
                    const char *anchor, const char *ptr, const char *fmt)
{
    char attrs[96];

    snprintf(attrs, sizeof attrs, "x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"", x, y,
             anchor);
    html_number(b, doc, "text", attrs, ptr, fmt);
}

static void svg_label(ek_strbuf *b, double x, double y, const char *anchor,
                      const char *cls, const char *text)
{
    ek_strbuf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"%s%s%s>", x, y,
                     anchor, cls != NULL ? " class=\"" : "", cls != NULL ? cls : "",
                     cls != NULL ? "\"" : "");
    ek_strbuf_xml(b, text);
    ek_strbuf_puts(b, "</text>");
}

static const char *text_of(const json_t *o, const char *key, const char *fallback)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s != NULL ? s : fallback;
}

/* Colour of class ID in the charts ("#rrggbb"; HEX holds it unless ID is
   the background): ek_class_palette in the order of the names. */
static const char *class_colour(const json_t *classes, const char *id, char hex[8])
{
    const json_t *bg = json_object_get(json_object_get(classes, "background"), "id");
    const char *key;
    json_t *v;
    size_t k = 0;
    char bgid[24];

    snprintf(bgid, sizeof bgid, "%lld", (long long)json_integer_value(bg));
    if (strcmp(id, bgid) == 0) {
        return BACKGROUND_COLOUR;
    }
    json_object_foreach(json_object_get(classes, "names"), key, v)
    {
        if (strcmp(key, bgid) == 0) {
            continue;
        }
        if (strcmp(key, id) == 0) {
            break;
        }
        k++;
    }
    k %= EK_CLASS_PALETTE_SIZE;
    snprintf(hex, 8, "#%02x%02x%02x", ek_class_palette[k][0], ek_class_palette[k][1],
             ek_class_palette[k][2]);
    return hex;
}

/* ---- sections ---- */

/* The legend of the splits (colour, name, chips between BEFORE and AFTER);
   pointing at a split singles it out on the split map. */
static void split_legend(ek_strbuf *b, const json_t *doc, const char *before,
                         const char *after)
{
    const char *split;
    json_t *v;
    char ptr[PTR_MAX];
    size_t k = 0;

    ek_strbuf_puts(b, "<div class=\"legend\">");
    json_object_foreach(json_object_get(json_object_get(doc, "dataset"), "splits"),
                        split, v)
    {
        ek_strbuf_printf(
            b, "<span data-split=\"%zu\"><i class=\"sw\" style=\"background:%s\"></i>",
            k, ek_audit_split_colour(k));
        ek_strbuf_xml(b, split);
        ek_strbuf_puts(b, before);
        num(b, doc, pointer(ptr, sizeof ptr, "dataset", "splits", split, NULL), "int");
        ek_strbuf_printf(b, "%s</span>", after);
        k++;
    }
    ek_strbuf_puts(b, "</div>");
}

static void header(ek_strbuf *b, const json_t *doc)
{
    const json_t *ds = json_object_get(doc, "dataset");

    ek_strbuf_puts(
        b,
        "<header class=\"top\"><div class=\"kicker\">eodkit dataset audit</div><h1>");
    ek_strbuf_xml(b, text_of(ds, "title", text_of(ds, "name", "dataset")));
    ek_strbuf_puts(b, "</h1><p class=\"sub\">");
    ek_strbuf_xml(b, text_of(ds, "name", ""));
    ek_strbuf_puts(b, " &middot; licence ");
    ek_strbuf_xml(b, text_of(ds, "license", "unknown"));
    ek_strbuf_puts(b, " &middot; task ");
    ek_strbuf_xml(b, text_of(ds, "task", "none"));
    ek_strbuf_puts(b, " &middot; ");
    num(b, doc, "/dataset/chips", "int");
    ek_strbuf_puts(b, " chips &middot; split method ");
    ek_strbuf_xml(b, text_of(ds, "split_method", "unknown"));
    ek_strbuf_puts(b, "</p>");
    split_legend(b, doc, " <b>", "</b>");
    ek_strbuf_puts(
        b, "<nav><a href=\"#overview\">overview</a><a href=\"#where\">map</a>"
           "<a href=\"#splits\">splits</a><a href=\"#continents\">continents</a>"
           "<a href=\"#countries\">countries</a>");
    if (json_is_object(json_object_get(doc, "sample"))) {
        ek_strbuf_puts(b, "<a href=\"#sample\">sample</a>");
    }
    ek_strbuf_puts(
        b, "<a href=\"#classes\">classes</a>"
           "<a href=\"#time\">time</a><a href=\"#bands\">bands</a>"
           "<a href=\"#nodata\">nodata</a>"
           "<a href=\"#leakage\">leakage</a><a href=\"#weights\">weights</a></nav>"
           "</header><main>");
}

static void warnings_banner(ek_strbuf *b, const json_t *doc)
{
    const json_t *warnings = json_object_get(doc, "warnings"), *w;
    size_t i;

    if (json_array_size(warnings) == 0) {
        return;
    }
    ek_strbuf_puts(b, "<section class=\"alarm\" role=\"alert\" id=\"warnings\">"
                      "<h2>&#9888; Warning</h2><ul>");
    json_array_foreach(warnings, i, w)
    {
        ek_strbuf_puts(b, "<li>");
        ek_strbuf_xml(b, json_string_value(w));
        ek_strbuf_puts(b, "</li>");
    }
    ek_strbuf_puts(b, "</ul></section>");
}

static void card(ek_strbuf *b, const json_t *doc, const char *cls, const char *ptr,
                 const char *fmt, const char *label)
{
    ek_strbuf_printf(b, "<div class=\"card %s\">", cls);
    html_number(b, doc, "span", "class=\"v\"", ptr, fmt);
    ek_strbuf_puts(b, "<span class=\"l\">");
    ek_strbuf_puts(b, label);
    ek_strbuf_puts(b, "</span></div>");
}

static void overview(ek_strbuf *b, const json_t *doc)
{
    const json_t *leak = json_object_get(doc, "leakage");
    const char *bad = json_is_true(json_object_get(leak, "leaky")) ? "bad" : "good";

    ek_strbuf_puts(b, "<section class=\"cards\" id=\"overview\">");
    card(b, doc, "", "/bias/outside_europe_north_america", "pct",
         "of land chips lie outside Europe and North America (the review found 61% of "
         "EO "
         "datasets do)");
    card(b, doc, "", "/bias/continent_entropy", "f3",
         "continent entropy (1 = chips spread evenly over the continents)");
    card(b, doc, "", "/bias/class_entropy", "f3",
         "class entropy (1 = balanced classes)");
    card(b, doc, bad, "/leakage/shared_pixels", "int",
         "grid pixels shared by chips of different splits");
    card(b, doc, bad, "/leakage/min_distance_pixels", "g",
         "pixels between the closest chips of different splits");
    ek_strbuf_puts(b, "</section>");
}

static int maps(ek_strbuf *b, const json_t *doc, const ek_chip_table *ix,
                const ek_audit_map *map)
{
    const char *layer = json_string_value(
        json_object_get(json_object_get(doc, "regions"), "map_layer"));
    size_t g;
    int rc;

    ek_strbuf_puts(
        b, "<section id=\"where\"><h2>Where the chips are</h2><p class=\"note\">");
    if (layer != NULL) {
        ek_strbuf_puts(b, "Countries (from ");
        ek_strbuf_xml(b, ek_path_basename(layer));
        ek_strbuf_puts(b, ") shaded by their chips; ");
    } else {
        ek_strbuf_puts(b, "No region layer could be read, so no countries are drawn; ");
    }
    ek_strbuf_puts(b, "red circles: chips per 2&deg; cell, larger where denser. "
                      "Equirectangular, 60&deg;S to 84&deg;N.</p>");
    rc = ek_audit_svg_world(b, ix, map);
    if (rc != EODKIT_OK) {
        return rc;
    }
    ek_strbuf_puts(
        b,
        "</section><section id=\"splits\"><h2>Splits on the grid</h2>"
        "<p class=\"note\">Every chip on the dataset's grid in the colour of its "
        "split (overlapping chips look darker); land, coasts and borders from the "
        "region layer (a coarse layer puts coasts kilometres off). Point at a split to "
        "single it out.</p>");
    split_legend(b, doc, " ", " chips");
    for (g = 0; g < map->ngrids || (g == 0 && map->ngrids == 0); g++) {
        if (map->ngrids > 1) {
            ek_strbuf_puts(b, "<h3>Grid ");
            ek_strbuf_xml(b, map->grids[g].crs != NULL ? map->grids[g].crs
                                                       : "(custom CRS)");
            ek_strbuf_puts(b, "</h3>");
        }
        rc = ek_audit_svg_splits(b, ix, map, g);
        if (rc != EODKIT_OK) {
            return rc;
        }
    }
    ek_strbuf_puts(b, "</section>");
    return b->status;
}

static void continents(ek_strbuf *b, const json_t *doc)
{
    const json_t *conts =
        json_object_get(json_object_get(doc, "geography"), "continents");
    const double label_w = 150, bar_w = 520, row = 46;
    double most = 0.05, y = 10;
    const char *name;
    json_t *v;
    char ptr[PTR_MAX];

    json_object_foreach((json_t *)conts, name, v)
    {
        most = fmax(most, json_number_value(json_object_get(v, "share")));
        most = fmax(most, json_number_value(json_object_get(v, "reference_share")));
    }
    ek_strbuf_puts(
        b, "<section id=\"continents\"><h2>Chips per continent, next to the review"
           "</h2><p class=\"note\">Dark bars: this dataset's share of chips. Grey "
           "bars: the share of EO datasets per continent found by Schmitt et al. "
           "(2023), where Asia's bar is the rest: Asia and global datasets.</p>");
    ek_strbuf_printf(b, "<svg class=\"bar\" viewBox=\"0 0 %g %g\">", CHART_W,
                     row * (double)json_object_size(conts) + 16);
    json_object_foreach((json_t *)conts, name, v)
    {
        double share = json_number_value(json_object_get(v, "share"));
        double ref = json_number_value(json_object_get(v, "reference_share"));

        svg_label(b, 0, y + 14, "start", NULL, name);
        ek_strbuf_printf(
            b,
            "<rect x=\"%g\" y=\"%g\" width=\"%.1f\" height=\"16\" rx=\"3\" "
            "fill=\"#0f766e\"/>",
            label_w, y, bar_w * share / most);
        svg_num(
            b, doc, label_w + bar_w * share / most + 6, y + 13, "start",
            pointer(ptr, sizeof ptr, "geography", "continents", name, "share", NULL),
            "pct");
        svg_num(
            b, doc, CHART_W - 4, y + 13, "end",
            pointer(ptr, sizeof ptr, "geography", "continents", name, "chips", NULL),
            "int");
        if (json_is_number(json_object_get(v, "reference_share"))) {
            ek_strbuf_printf(
                b,
                "<rect x=\"%g\" y=\"%g\" width=\"%.1f\" height=\"9\" rx=\"2\" "
                "fill=\"#cbd5e1\"/>",
                label_w, y + 19, bar_w * ref / most);
            ek_strbuf_printf(b, "<text class=\"m\" x=\"%.1f\" y=\"%.1f\">review ",
                             label_w + bar_w * ref / most + 6, y + 27);
            html_number(b, doc, "tspan", "",
                        pointer(ptr, sizeof ptr, "geography", "continents", name,
                                "reference_share", NULL),
                        "pct");
            ek_strbuf_puts(b, "</text>");
        }
        y += row;
    }
    ek_strbuf_puts(b, "</svg></section>");
}

static void countries(ek_strbuf *b, const json_t *doc)
{
    const json_t *list =
        json_object_get(json_object_get(doc, "geography"), "countries");
    const double label_w = 230, bar_w = 520, row = 24;
    size_t shown =
        json_object_size(list) < TOP_COUNTRIES ? json_object_size(list) : TOP_COUNTRIES;
    double most = 1, y = 4;
    const char *code;
    json_t *v;
    char ptr[PTR_MAX], label[160];
    size_t k = 0;

    json_object_foreach((json_t *)list, code, v)
    {
        most = fmax(most, (double)json_integer_value(json_object_get(v, "chips")));
    }
    ek_strbuf_puts(
        b, "<section id=\"countries\"><h2>Chips per country</h2><p class=\"note\">");
    if (json_object_size(list) > shown) {
        ek_strbuf_printf(b, "The %zu countries with most chips of %zu. ", shown,
                         json_object_size(list));
    }
    ek_strbuf_puts(b, "ISO 3166-1 alpha-3 codes; <i>none</i>: over the sea.</p>");
    ek_strbuf_printf(b, "<svg class=\"bar\" viewBox=\"0 0 %g %g\">", CHART_W,
                     row * (double)shown + 8);
    json_object_foreach((json_t *)list, code, v)
    {
        double chips = (double)json_integer_value(json_object_get(v, "chips"));

        if (k++ >= shown) {
            break;
        }
        snprintf(label, sizeof label, "%s %s", code, text_of(v, "name", ""));
        svg_label(b, 0, y + 13, "start", NULL, label);
        ek_strbuf_printf(
            b,
            "<rect x=\"%g\" y=\"%g\" width=\"%.1f\" height=\"16\" rx=\"3\" "
            "fill=\"#0f766e\"/>",
            label_w, y, fmax(1, bar_w * chips / most));
        svg_num(b, doc, label_w + bar_w * chips / most + 6, y + 13, "start",
                pointer(ptr, sizeof ptr, "geography", "countries", code, "chips", NULL),
                "int");
        svg_num(b, doc, CHART_W - 4, y + 13, "end",
                pointer(ptr, sizeof ptr, "geography", "countries", code, "share", NULL),
                "pct");
        y += row;
    }
    ek_strbuf_puts(b, "</svg></section>");
}

/* Groups of the build's sampling the chart shows (most candidates). */
#define TOP_SAMPLE_GROUPS 30

/* The build's sampling: per group its share of the candidates (grey) and of
   the chosen chips (dark), then the counts before and after sampling and
   in the dataset. Nothing when the build did not sample. */
static void sample_section(ek_strbuf *b, const json_t *doc)
{
    const json_t *s = json_object_get(doc, "sample");
    const json_t *groups = json_object_get(s, "groups");
    const json_t *names = json_object_get(json_object_get(doc, "classes"), "names");
    const char *by = text_of(s, "by", "?"), *key;
    int by_class = strcmp(by, "class") == 0;
    const double label_w = 230, bar_w = 520, row = 34;
    size_t shown = json_object_size(groups) < TOP_SAMPLE_GROUPS
                       ? json_object_size(groups)
                       : TOP_SAMPLE_GROUPS,
           k = 0;
    double y = 4;
    json_t *v;
    char ptr[PTR_MAX];

    if (!json_is_object(s)) {
        return;
    }
    ek_strbuf_puts(b, "<section id=\"sample\"><h2>Chips chosen by sampling</h2>"
                      "<p class=\"note\">The recipe's <code>sample</code> chose chips "
                      "before any pixel was read, by ");
    ek_strbuf_xml(b, by);
    if (json_is_integer(json_object_get(s, "max_per_group"))) {
        ek_strbuf_puts(b, ", at most ");
        num(b, doc, "/sample/max_per_group", "int");
        ek_strbuf_puts(b, " per group");
    }
    if (json_is_integer(json_object_get(s, "total"))) {
        ek_strbuf_puts(b, ", ");
        num(b, doc, "/sample/total", "int");
        ek_strbuf_puts(b, " in all (");
        ek_strbuf_xml(b, text_of(s, "allocation", "?"));
        ek_strbuf_puts(b, " allocation)");
    }
    ek_strbuf_puts(b, ", seed ");
    num(b, doc, "/sample/seed", "int");
    ek_strbuf_puts(b, ": ");
    num(b, doc, "/sample/candidates", "int");
    ek_strbuf_puts(b, " candidates, ");
    num(b, doc, "/sample/chosen", "int");
    ek_strbuf_puts(b, " chosen, ");
    num(b, doc, "/sample/kept", "int");
    ek_strbuf_puts(b, " in the dataset (after the guard band and the filters). ");
    if (json_object_size(groups) > shown) {
        ek_strbuf_printf(b, "The %zu groups with most candidates of %zu. ", shown,
                         json_object_size(groups));
    }
    ek_strbuf_puts(b, "Grey bars: a group's share of the candidates; dark bars: its "
                      "share of the chosen chips.</p>");
    ek_strbuf_printf(b, "<svg class=\"bar\" viewBox=\"0 0 %g %g\">", CHART_W,
                     row * (double)shown + 8);
    json_object_foreach((json_t *)groups, key, v)
    {
        double before = json_number_value(json_object_get(v, "candidate_share"));
        double after = json_number_value(json_object_get(v, "chosen_share"));

        if (k++ >= shown) {
            break;
        }
        svg_label(b, 0, y + 16, "start", NULL,
                  by_class ? text_of(names, key, key) : key);
        ek_strbuf_printf(b,
                         "<rect x=\"%g\" y=\"%g\" width=\"%.1f\" height=\"10\" "
                         "rx=\"2\" fill=\"#cbd5e1\"/><rect x=\"%g\" y=\"%g\" "
                         "width=\"%.1f\" height=\"14\" rx=\"3\" fill=\"#0f766e\"/>",
                         label_w, y, fmax(1, bar_w * before), label_w, y + 12,
                         fmax(1, bar_w * after));
        svg_num(
            b, doc, label_w + bar_w * before + 6, y + 9, "start",
            pointer(ptr, sizeof ptr, "sample", "groups", key, "candidate_share", NULL),
            "pct");
        svg_num(b, doc, label_w + bar_w * after + 6, y + 24, "start",
                pointer(ptr, sizeof ptr, "sample", "groups", key, "chosen_share", NULL),
                "pct");
        y += row;
    }
    ek_strbuf_puts(b, "</svg><table><tr><th>group</th><th>candidates</th><th>share</th>"
                      "<th>chosen</th><th>share</th><th>in the dataset</th>"
                      "<th>share</th></tr>");
    json_object_foreach((json_t *)groups, key, v)
    {
        ek_strbuf_puts(b, "<tr><td>");
        ek_strbuf_xml(b, by_class ? text_of(names, key, key) : key);
        ek_strbuf_puts(b, "</td>");
        cell(b, doc,
             pointer(ptr, sizeof ptr, "sample", "groups", key, "candidates", NULL),
             "int");
        cell(b, doc,
             pointer(ptr, sizeof ptr, "sample", "groups", key, "candidate_share", NULL),
             "pct");
        cell(b, doc, pointer(ptr, sizeof ptr, "sample", "groups", key, "chosen", NULL),
             "int");
        cell(b, doc,
             pointer(ptr, sizeof ptr, "sample", "groups", key, "chosen_share", NULL),
             "pct");
        cell(b, doc, pointer(ptr, sizeof ptr, "sample", "groups", key, "kept", NULL),
             "int");
        cell(b, doc,
             pointer(ptr, sizeof ptr, "sample", "groups", key, "kept_share", NULL),
             "pct");
        ek_strbuf_puts(b, "</tr>");
    }
    ek_strbuf_puts(b, "</table></section>");
}

/* One 100 % stacked bar of the class shares of SPLIT. */
static void class_bar(ek_strbuf *b, const json_t *classes, const char *split)
{
    const json_t *shares =
        json_object_get(json_object_get(classes, "pixel_shares"), split);
    const char *id;
    json_t *v;
    double x = 0;

    ek_strbuf_printf(b, "<svg class=\"bar\" viewBox=\"0 0 %g 22\">", CHART_W);
    json_object_foreach((json_t *)shares, id, v)
    {
        double w = CHART_W * json_number_value(v);
        const char *name = text_of(json_object_get(classes, "names"), id, id);
        char text[64], hex[8];

        format_number(v, "pct", text, sizeof text);
        ek_strbuf_printf(
            b,
            "<rect x=\"%.1f\" y=\"0\" width=\"%.1f\" height=\"22\" fill=\"%s\">"
            "<title>",
            x, w, class_colour(classes, id, hex));
        ek_strbuf_xml(b, name);
        ek_strbuf_printf(b, ": %s of the pixels</title></rect>", text);
        x += w;
    }
    ek_strbuf_puts(b, "</svg>");
}

static void classes_section(ek_strbuf *b, const json_t *doc)
{
    const json_t *classes = json_object_get(doc, "classes");
    const json_t *splits = json_object_get(json_object_get(doc, "dataset"), "splits");
    const json_t *names = json_object_get(classes, "names");
    const char *split, *id, *name;
    json_t *v, *ignored;
    char ptr[PTR_MAX];

    ek_strbuf_puts(b, "<section id=\"classes\"><h2>Class balance per split</h2>");
    if (!json_is_object(classes)) {
        ek_strbuf_puts(b, "<p class=\"note\">The dataset has no labels.</p></section>");
        return;
    }
    ek_strbuf_puts(b,
                   "<p class=\"note\">Share of pixels per class in each split (grey: "
                   "background), then pixels, chips holding the class and chips whose "
                   "dominant class it is.</p><div class=\"legend\">");
    json_object_foreach((json_t *)names, id, v)
    {
        char hex[8];

        ek_strbuf_printf(b, "<span><i class=\"sw\" style=\"background:%s\"></i>",
                         class_colour(classes, id, hex));
        ek_strbuf_xml(b, json_string_value(v) != NULL ? json_string_value(v) : id);
        ek_strbuf_printf(b, " (%s)</span>", id);
    }
    ek_strbuf_puts(b, "</div>");
    json_object_foreach((json_t *)splits, split, ignored)
    {
        ek_strbuf_puts(b, "<h3>");
        ek_strbuf_xml(b, split);
        ek_strbuf_puts(b, "</h3>");
        class_bar(b, classes, split);
    }
    ek_strbuf_puts(b, "<h3>Counts</h3><table><tr><th>class</th><th>id</th>");
    json_object_foreach((json_t *)splits, split, ignored)
    {
        ek_strbuf_puts(b, "<th>");
        ek_strbuf_xml(b, split);
        ek_strbuf_puts(b, " pixels</th><th>share</th><th>chips</th><th>dominant</th>");
    }
    ek_strbuf_puts(b, "</tr>");
    json_object_foreach((json_t *)names, id, v)
    {
        name = json_string_value(v) != NULL ? json_string_value(v) : id;
        ek_strbuf_puts(b, "<tr><td>");
        ek_strbuf_xml(b, name);
        ek_strbuf_printf(b, "</td><td>%s</td>", id);
        json_object_foreach((json_t *)splits, split, ignored)
        {
            cell(b, doc, pointer(ptr, sizeof ptr, "classes", "pixels", split, id, NULL),
                 "int");
            cell(b, doc,
                 pointer(ptr, sizeof ptr, "classes", "pixel_shares", split, id, NULL),
                 "pct");
            cell(b, doc, pointer(ptr, sizeof ptr, "classes", "chips", split, id, NULL),
                 "int");
            cell(b, doc,
                 pointer(ptr, sizeof ptr, "classes", "dominant", split, id, NULL),
                 "int");
        }
        ek_strbuf_puts(b, "</tr>");
    }
    ek_strbuf_puts(b, "</table></section>");
}

/* Vertical bars of the counts in object doc[SECTION][KEY], labelled with
   LABELS (NULL: the keys). */
static void column_chart(ek_strbuf *b, const json_t *doc, const char *section,
                         const char *key0, const char *const *labels)
{
    const json_t *counts = json_object_get(json_object_get(doc, section), key0);
    size_t n = json_object_size(counts), k = 0;
    double most = 1, slot = n > 0 ? fmin(CHART_W / (double)n, 90) : CHART_W, h = 150;
    const char *key;
    json_t *v;
    char ptr[PTR_MAX];

    json_object_foreach((json_t *)counts, key, v)
    {
        most = fmax(most, (double)json_integer_value(v));
    }
    ek_strbuf_printf(b, "<svg class=\"bar\" viewBox=\"0 0 %g %g\">", CHART_W, h + 40);
    json_object_foreach((json_t *)counts, key, v)
    {
        double bh = h * (double)json_integer_value(v) / most;
        double x = slot * (double)k;

        pointer(ptr, sizeof ptr, section, key0, key, NULL);
        ek_strbuf_printf(
            b,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"2\" "
            "fill=\"#0f766e\"/>",
            x + slot * 0.15, 16 + h - bh, slot * 0.7, bh);
        svg_num(b, doc, x + slot / 2, 12 + h - bh, "middle", ptr, "int");
        svg_label(b, x + slot / 2, h + 34, "middle", "m",
                  labels != NULL ? labels[k] : key);
        k++;
    }
    ek_strbuf_puts(b, "</svg>");
}

static void time_section(ek_strbuf *b, const json_t *doc)
{
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const json_t *t = json_object_get(doc, "time");

    ek_strbuf_puts(b, "<section id=\"time\"><h2>Acquisition years and months</h2>"
                      "<p class=\"note\">Acquisition time known for ");
    num(b, doc, "/time/known", "int");
    ek_strbuf_puts(b, " chips, unknown for ");
    num(b, doc, "/time/unknown", "int");
    ek_strbuf_puts(b, json_is_true(json_object_get(t, "column"))
                          ? " (from the index's datetime column).</p>"
                          : " (the index has no datetime column).</p>");
    if (json_integer_value(json_object_get(t, "known")) > 0) {
        ek_strbuf_puts(b, "<h3>Years</h3>");
        column_chart(b, doc, "time", "years", NULL);
        ek_strbuf_puts(b, "<h3>Months</h3>");
        column_chart(b, doc, "time", "months", months);
    }
    ek_strbuf_puts(b, "</section>");
}

/* A small histogram of band K of modality MOD. */
static void band_chart(ek_strbuf *b, const json_t *doc, const char *mod, size_t k)
{
    char base[PTR_MAX], ptr[PTR_MAX], index[24], title[160];
    const json_t *band;
    const json_t *counts;
    double most = 1, w = 300, h = 110, slot;
    size_t i, n;
    int scale;

    snprintf(index, sizeof index, "%zu", k);
    pointer(base, sizeof base, "bands", "modalities", mod, index, NULL);
    band = json_at(doc, base);
    counts = json_object_get(band, "counts");
    n = json_array_size(counts);
    slot = n > 0 ? w / (double)n : w;
    for (i = 0; i < n; i++) {
        most = fmax(most, (double)json_integer_value(json_array_get(counts, i)));
    }
    snprintf(title, sizeof title, "%s / %s", mod, text_of(band, "name", "band"));
    ek_strbuf_printf(b, "<svg class=\"bar hist\" viewBox=\"0 0 %g %g\">", w, h + 44);
    svg_label(b, 0, 12, "start", NULL, title);
    /* light: log scale, so the tails show; dark: the counts */
    for (scale = 0; scale < 2; scale++) {
        ek_strbuf_printf(b, "<path fill=\"%s\" d=\"",
                         scale == 0 ? "#b7e1dc" : "#0f766e");
        for (i = 0; i < n; i++) {
            double c = (double)json_integer_value(json_array_get(counts, i));
            double bh = scale == 0 ? h * log1p(c) / log1p(most) : h * c / most;

            ek_strbuf_printf(b, "M%.2f %.2fh%.2fv%.2fh%.2fZ", slot * (double)i, 18 + h,
                             slot * 0.92, -bh, -slot * 0.92);
        }
        ek_strbuf_puts(b, "\"/>");
    }
    svg_num(b, doc, 0, h + 32, "start",
            pointer(ptr, sizeof ptr, "bands", "modalities", mod, index, "min", NULL),
            "g");
    svg_num(b, doc, w, h + 32, "end",
            pointer(ptr, sizeof ptr, "bands", "modalities", mod, index, "max", NULL),
            "g");
    ek_strbuf_printf(b,
                     "<text class=\"m\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
                     w / 2, h + 32);
    html_number(
        b, doc, "tspan", "",
        pointer(ptr, sizeof ptr, "bands", "modalities", mod, index, "count", NULL),
        "int");
    ek_strbuf_puts(b, " values</text></svg>");
}

static void bands_section(ek_strbuf *b, const json_t *doc)
{
    const json_t *bands = json_object_get(doc, "bands");
    const char *mod;
    json_t *list;
    size_t k;

    ek_strbuf_puts(b, "<section id=\"bands\"><h2>Band histograms of the ");
    ek_strbuf_xml(b, text_of(bands, "split", "training"));
    ek_strbuf_puts(b, " split</h2><p class=\"note\">");
    num(b, doc, "/bands/bins", "int");
    ek_strbuf_puts(
        b, " equal bins from each band's minimum to maximum (stats.json); nodata "
           "values left out.</p><div class=\"grid2\">");
    json_object_foreach(json_object_get(bands, "modalities"), mod, list)
    {
        for (k = 0; k < json_array_size(list); k++) {
            band_chart(b, doc, mod, k);
        }
    }
    ek_strbuf_puts(b, "</div></section>");
}

/* The row of split SPLIT (NULL: every chip) of the nodata table. */
static void nodata_row(ek_strbuf *b, const json_t *doc, const char *split)
{
    static const char *const keys[] = {"chips", "with_nodata", "share", "max"};
    static const char *const formats[] = {"int", "int", "pct", "pct"};
    char ptr[PTR_MAX];
    size_t k;

    ek_strbuf_puts(b, "<tr><td>");
    ek_strbuf_xml(b, split != NULL ? split : "all");
    ek_strbuf_puts(b, "</td>");
    for (k = 0; k < sizeof keys / sizeof *keys; k++) {
        cell(b, doc,
             split != NULL
                 ? pointer(ptr, sizeof ptr, "nodata", "by_split", split, keys[k], NULL)
                 : pointer(ptr, sizeof ptr, "nodata", keys[k], NULL),
             formats[k]);
    }
    ek_strbuf_puts(b, "</tr>");
}

static void nodata_section(ek_strbuf *b, const json_t *doc)
{
    const char *split;
    json_t *v;

    ek_strbuf_puts(
        b, "<section id=\"nodata\"><h2>Nodata per split</h2><p class=\"note\">"
           "Pixels that hold nodata (the nodata value, NaN or infinity, in any band "
           "of a required modality), from <code>nodata_frac</code> in index.gpkg; "
           "the recipe's <code>filters.max_nodata</code> bounds each chip's share."
           "</p><table><tr><th>split</th><th>chips</th><th>chips with nodata</th>"
           "<th>nodata pixels</th><th>most in one chip</th></tr>");
    nodata_row(b, doc, NULL);
    json_object_foreach(json_object_get(json_object_get(doc, "nodata"), "by_split"),
                        split, v)
    {
        nodata_row(b, doc, split);
    }
    ek_strbuf_puts(b, "</table></section>");
}

static void leakage_section(ek_strbuf *b, const json_t *doc)
{
    const json_t *leak = json_object_get(doc, "leakage");
    const json_t *closest = json_object_get(leak, "closest_chips");
    const char *pair;
    json_t *v;
    char ptr[PTR_MAX];
    int leaky = json_is_true(json_object_get(leak, "leaky"));

    ek_strbuf_printf(b, "<section id=\"leakage\" class=\"%s\"><h2>Split leakage: ",
                     leaky ? "alarm" : "ok");
    ek_strbuf_xml(b, text_of(leak, "verdict", "?"));
    ek_strbuf_puts(
        b, "</h2><p class=\"note\">Measured exactly on the chips' grid windows: "
           "pixels that lie in chips of two or more splits, and the distance "
           "between the closest chips of different splits.</p><table>");
    ek_strbuf_puts(b, "<tr><td>split method</td><td>");
    ek_strbuf_xml(b, text_of(leak, "method", "?"));
    ek_strbuf_puts(b,
                   "</td></tr><tr><td>grid pixels in chips of two or more splits</td>");
    cell(b, doc, "/leakage/shared_pixels", "int");
    ek_strbuf_puts(b, "</tr><tr><td>smallest distance between splits, pixels</td>");
    cell(b, doc, "/leakage/min_distance_pixels", "g");
    ek_strbuf_puts(b, "</tr><tr><td>smallest distance between splits, ");
    ek_strbuf_xml(b, text_of(json_object_get(json_object_get(doc, "dataset"), "grid"),
                             "units", "CRS units"));
    ek_strbuf_puts(b, "</td>");
    cell(b, doc, "/leakage/min_distance_crs", "g");
    ek_strbuf_puts(b, "</tr><tr><td>smallest gap in columns or rows (the guard band's "
                      "measure), pixels</td>");
    cell(b, doc, "/leakage/min_gap_pixels", "int");
    ek_strbuf_puts(b, "</tr>");
    if (json_array_size(json_object_get(leak, "guard_pixels")) == 2) {
        ek_strbuf_puts(
            b, "<tr><td>guard band of the build (rows, columns), pixels</td><td>");
        num(b, doc, "/leakage/guard_pixels/0", "int");
        ek_strbuf_puts(b, ", ");
        num(b, doc, "/leakage/guard_pixels/1", "int");
        ek_strbuf_printf(
            b, "</td></tr><tr><td>guard band respected</td><td>%s</td></tr>",
            json_is_true(json_object_get(leak, "guard_respected")) ? "yes" : "no");
    }
    if (json_array_size(closest) == 2) {
        ek_strbuf_puts(b, "<tr><td>closest chips (chip_id)</td><td>");
        num(b, doc, "/leakage/closest_chips/0/chip_id", "int");
        ek_strbuf_puts(b, " (");
        ek_strbuf_xml(b, text_of(json_array_get(closest, 0), "split", "?"));
        ek_strbuf_puts(b, ") and ");
        num(b, doc, "/leakage/closest_chips/1/chip_id", "int");
        ek_strbuf_puts(b, " (");
        ek_strbuf_xml(b, text_of(json_array_get(closest, 1), "split", "?"));
        ek_strbuf_puts(b, ")</td></tr>");
    }
    json_object_foreach(json_object_get(leak, "shared_pixels_by_pair"), pair, v)
    {
        ek_strbuf_puts(b, "<tr><td>pixels shared by ");
        ek_strbuf_xml(b, pair);
        ek_strbuf_puts(b, "</td>");
        cell(b, doc,
             pointer(ptr, sizeof ptr, "leakage", "shared_pixels_by_pair", pair, NULL),
             "int");
        ek_strbuf_puts(b, "</tr>");
    }
    ek_strbuf_puts(b, "</table></section>");
}

/* The weights of KIND ("continent" or "class") per split and group. */
static void weights_table(ek_strbuf *b, const json_t *doc, const char *kind)
{
    const json_t *w = json_object_get(json_object_get(doc, "weights"), kind);
    const json_t *names = json_object_get(json_object_get(doc, "classes"), "names");
    const char *split, *group;
    json_t *per, *v;
    char ptr[PTR_MAX];

    ek_strbuf_printf(
        b,
        "<table class=\"w\"><tr><th>split</th><th>%s</th><th>chips</th><th>weight of "
        "each "
        "chip</th></tr>",
        kind);
    json_object_foreach((json_t *)w, split, per)
    {
        json_object_foreach(per, group, v)
        {
            ek_strbuf_puts(b, "<tr><td>");
            ek_strbuf_xml(b, split);
            ek_strbuf_puts(b, "</td><td>");
            ek_strbuf_xml(b, strcmp(kind, "class") == 0 ? text_of(names, group, group)
                                                        : group);
            ek_strbuf_puts(b, "</td>");
            cell(b, doc,
                 pointer(ptr, sizeof ptr, "weights", kind, split, group, "chips", NULL),
                 "int");
            cell(
                b, doc,
                pointer(ptr, sizeof ptr, "weights", kind, split, group, "weight", NULL),
                "g");
            ek_strbuf_puts(b, "</tr>");
        }
    }
    ek_strbuf_puts(b, "</table>");
}

static void weights_section(ek_strbuf *b, const json_t *doc)
{
    ek_strbuf_puts(
        b, "<section id=\"weights\"><h2>Sampling weights</h2><p class=\"note\">"
           "Columns <code>weight_continent</code> and <code>weight_class</code> of "
           "index.gpkg: drawn with these weights, every continent (or class) of a "
           "split is sampled equally often; a split's weights sum to its chips. "
           "Classes: ");
    ek_strbuf_xml(b, text_of(json_object_get(doc, "weights"), "class_basis", ""));
    ek_strbuf_puts(b, ".</p><div class=\"grid2\"><div><h3>By continent</h3>");
    weights_table(b, doc, "continent");
    ek_strbuf_puts(b, "</div><div><h3>By class</h3>");
    weights_table(b, doc, "class");
    ek_strbuf_puts(b, "</div></div></section>");
}

/* Pointing at a split in a legend fades the other splits on the split map. */
static void script(ek_strbuf *b, size_t nsplits)
{
    size_t k;

    ek_strbuf_puts(b, "<style>");
    for (k = 0; k < nsplits; k++) {
        ek_strbuf_printf(
            b,
            "body[data-focus=\"%zu\"] .splitmap [data-s]:not([data-s=\"%zu\"])"
            "{opacity:.08}",
            k, k);
    }
    ek_strbuf_puts(
        b,
        "</style><script>\"use strict\";"
        "document.querySelectorAll(\"[data-split]\").forEach(function(e){"
        "e.addEventListener(\"mouseenter\",function(){"
        "document.body.setAttribute(\"data-focus\",e.getAttribute(\"data-split\"));});"
        "e.addEventListener(\"mouseleave\",function(){"
        "document.body.removeAttribute(\"data-focus\");});});</script>");
}

int ek_audit_html_write(eodkit_ctx *ctx, const char *path, const json_t *doc,
                        const ek_chip_table *ix, const ek_audit_map *map)
{
    const json_t *ds = json_object_get(doc, "dataset");
    ek_strbuf b;
    char *text = NULL;
    int rc;

    ek_strbuf_init(&b, ctx);
    ek_strbuf_puts(
        &b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<meta name=\"generator\" content=\"");
    ek_strbuf_xml(&b, text_of(doc, "generator", "eodkit"));
    ek_strbuf_puts(&b, "\"><title>Audit: ");
    ek_strbuf_xml(&b, text_of(ds, "title", text_of(ds, "name", "dataset")));
    ek_strbuf_printf(&b, "</title><style>%s</style></head><body>\n", style);
    header(&b, doc);
    warnings_banner(&b, doc);
    overview(&b, doc);
    rc = maps(&b, doc, ix, map);
    if (rc != EODKIT_OK) {
        ek_strbuf_free(&b);
        return rc;
    }
    continents(&b, doc);
    countries(&b, doc);
    sample_section(&b, doc);
    classes_section(&b, doc);
    time_section(&b, doc);
    bands_section(&b, doc);
    nodata_section(&b, doc);
    leakage_section(&b, doc);
    weights_section(&b, doc);
    ek_strbuf_puts(&b, "</main><footer>Made by ");
    ek_strbuf_xml(&b, text_of(doc, "generator", "eodkit"));
    ek_strbuf_puts(&b, " from audit.json, which holds every number on this page; "
                       "datasheet.md describes the dataset.</footer>");
    script(&b, json_object_size(json_object_get(ds, "splits")));
    ek_strbuf_puts(&b, "</body></html>\n");
    rc = ek_strbuf_detach(&b, &text);
    if (rc == EODKIT_OK) {
        rc = ek_fs_write_file(ctx, path, text, strlen(text));
    }
    free(text);
    return rc;
}
