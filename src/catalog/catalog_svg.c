/*
** Catalog: a small SVG chart writer for the statistics (horizontal grouped
** bars, and lines over the years on a log scale). Plain SVG 1.1
** with inline styles: it opens in a browser, an <img> tag or a document.
*/
#include <math.h>
#include <stdio.h>

#include "ek_catalog.h"

#define WIDTH 760
#define LABEL_W 190 /* room for the group names left of the bars, at least */
#define CHAR_W 6.2  /* the width of a character at font-size 11, at most */
#define BAR_H 11

static const char *const colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd"};

/* A round step (1, 2 or 5 times a power of ten) giving about TARGET steps
   from 0 to MAX. */
static double nice_step(double max, int target)
{
    double raw = max / target, mag = pow(10, floor(log10(raw))), f = raw / mag;

    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

static void header(ek_strbuf *b, int width, int height, const char *title)
{
    ek_strbuf_printf(
        b,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
        "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"11\">\n"
        "<title>",
        width, height, width, height);
    ek_strbuf_xml(b, title);
    ek_strbuf_printf(b,
                     "</title>\n<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n"
                     "<text x=\"10\" y=\"18\" font-size=\"14\" font-weight=\"bold\">",
                     width, height);
    ek_strbuf_xml(b, title);
    ek_strbuf_puts(b, "</text>\n");
}

/* The legend under the title: a coloured square and name per series. */
static void legend(ek_strbuf *b, const ek_series *series, size_t nseries)
{
    size_t s;

    for (s = 0; s < nseries; s++) {
        int x = 10 + 150 * (int)s;

        ek_strbuf_printf(
            b,
            "<rect x=\"%d\" y=\"27\" width=\"10\" height=\"10\" fill=\"%s\"/>"
            "<text x=\"%d\" y=\"36\">",
            x, colors[s % 4], x + 14);
        ek_strbuf_xml(b, series[s].name);
        ek_strbuf_puts(b, "</text>\n");
    }
}

/* Room for the longest of the N LABELS (UTF-8), at least LABEL_W, so that
   long names ("classification + object detection") are not cut. */
static int labels_width(const char *const *labels, size_t n)
{
    size_t longest = 0, i;
    int w;

    for (i = 0; i < n; i++) {
        size_t chars = 0;
        const char *p;

        for (p = labels[i]; *p != '\0'; p++) {
            chars += ((unsigned char)*p & 0xc0) != 0x80;
        }
        longest = chars > longest ? chars : longest;
    }
    w = (int)ceil(CHAR_W * (double)longest) + 12;
    return w > LABEL_W ? w : LABEL_W;
}

void ek_svg_bars(ek_strbuf *b, const char *title, const char *unit,
                 const char *const *labels, size_t n, const ek_series *series,
                 size_t nseries)
{
    int label_w = labels_width(labels, n), width = WIDTH - LABEL_W + label_w;
    int group_h = (int)nseries * BAR_H + 8, top = 52, plot_w = WIDTH - LABEL_W - 60;
    int height = top + (int)n * group_h + 30;
    double max = 0, step, t;
    size_t i, s;

    for (s = 0; s < nseries; s++) {
        for (i = 0; i < n; i++) {
            if (!isnan(series[s].values[i]) && series[s].values[i] > max) {
                max = series[s].values[i];
            }
        }
    }
    if (max <= 0) {
        max = 1;
    }
    step = nice_step(max, 4);
    max = ceil(max / step) * step;
    header(b, width, height, title);
    legend(b, series, nseries);
    for (t = 0; t <= max + step / 2; t += step) {
        double x = label_w + plot_w * t / max;

        ek_strbuf_printf(
            b,
            "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>"
            "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#555\">%g%s"
            "</text>\n",
            x, top - 4, x, height - 24, x, height - 10, t, unit);
    }
    for (i = 0; i < n; i++) {
        int y = top + (int)i * group_h;

        ek_strbuf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", label_w - 6,
                         y + group_h / 2 + 2);
        ek_strbuf_xml(b, labels[i]);
        ek_strbuf_puts(b, "</text>\n");
        for (s = 0; s < nseries; s++) {
            double v = series[s].values[i];

            if (isnan(v)) {
                continue;
            }
            ek_strbuf_printf(b,
                             "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
                             "fill=\"%s\"><title>",
                             label_w, y + (int)s * BAR_H, plot_w * v / max, BAR_H - 1,
                             colors[s % 4]);
            ek_strbuf_xml(b, labels[i]);
            ek_strbuf_printf(b, ", ");
            ek_strbuf_xml(b, series[s].name);
            ek_strbuf_printf(b, ": %.4g%s</title></rect>\n", v, unit);
        }
    }
    ek_strbuf_puts(b, "</svg>\n");
}

void ek_svg_lines(ek_strbuf *b, const char *title, const char *unit, const double *x,
                  size_t n, const ek_series *series, size_t nseries)
{
    const int left = 70, right = 20, top = 52, bottom = 40, height = 372;
    const int plot_w = WIDTH - left - right, plot_h = height - top - bottom;
    double xmin = n > 0 ? x[0] : 0, xmax = n > 0 ? x[n - 1] : 1, lo = INFINITY,
           hi = -INFINITY;
    double t, step;
    size_t i, s;

    for (s = 0; s < nseries; s++) {
        for (i = 0; i < n; i++) {
            double v = series[s].values[i];

            if (!isnan(v) && v > 0) {
                lo = fmin(lo, log10(v));
                hi = fmax(hi, log10(v));
            }
        }
    }
    if (!isfinite(lo)) {
        lo = 0, hi = 1;
    }
    lo = floor(lo);
    hi = fmax(ceil(hi), lo + 1);
    if (xmax <= xmin) {
        xmin -= 1, xmax += 1;
    }
    header(b, WIDTH, height, title);
    legend(b, series, nseries);
    /* Horizontal grid: every power of ten. */
    for (t = lo; t <= hi + 0.5; t += 1) {
        double y = top + plot_h * (1 - (t - lo) / (hi - lo));
        char label[32];

        ek_format_si(pow(10, t), label, sizeof label);
        ek_strbuf_printf(
            b,
            "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>"
            "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" fill=\"#555\">%s%s"
            "</text>\n",
            left, y, WIDTH - right, y, left - 6, y + 4, label, unit);
    }
    /* Vertical ticks: at most about 12 labels along x. */
    step = ceil((xmax - xmin) / 12);
    for (t = xmin; t <= xmax; t += step) {
        double px = left + plot_w * (t - xmin) / (xmax - xmin);

        ek_strbuf_printf(
            b,
            "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#999\"/>"
            "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#555\">%g"
            "</text>\n",
            px, top + plot_h, px, top + plot_h + 4, px, top + plot_h + 18, t);
    }
    for (s = 0; s < nseries; s++) {
        int pen_down = 0;

        ek_strbuf_printf(b, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"2\" d=\"",
                         colors[s % 4]);
        for (i = 0; i < n; i++) {
            double v = series[s].values[i];

            if (isnan(v) || v <= 0) {
                pen_down = 0;
                continue;
            }
            ek_strbuf_printf(b, "%c%.1f %.1f", pen_down ? 'L' : 'M',
                             left + plot_w * (x[i] - xmin) / (xmax - xmin),
                             top + plot_h * (1 - (log10(v) - lo) / (hi - lo)));
            pen_down = 1;
        }
        ek_strbuf_puts(b, "\"/>\n");
        for (i = 0; i < n; i++) {
            double v = series[s].values[i];

            if (isnan(v) || v <= 0) {
                continue;
            }
            ek_strbuf_printf(
                b,
                "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>%g: "
                "%.4g%s</title></circle>\n",
                left + plot_w * (x[i] - xmin) / (xmax - xmin),
                top + plot_h * (1 - (log10(v) - lo) / (hi - lo)), colors[s % 4], x[i],
                v, unit);
        }
    }
    ek_strbuf_puts(b, "</svg>\n");
}
