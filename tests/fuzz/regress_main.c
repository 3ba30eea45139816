/*
** Fuzz regression driver: runs a libFuzzer harness (LLVMFuzzerTestOneInput)
** over every file of a corpus folder, so the inputs that once crashed, hung
** or leaked stay fixed in `make check` without clang. Exit 0 when every input
** ran; a crash or sanitizer report ends the process as it would under
** libFuzzer.
*/
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read all of PATH into a new buffer; return NULL on failure. */
static uint8_t *read_all(const char *path, size_t *size /* OUT */)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;

    if (f == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *size = (size_t)n;
    }
    fclose(f);
    return buf;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    DIR *d;
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0, i;
    int failed = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 1;
    }
    d = opendir(argv[1]);
    if (d == NULL) {
        fprintf(stderr, "%s: cannot open the corpus folder\n", argv[1]);
        return 1;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            names = realloc(names, cap * sizeof *names);
            if (names == NULL) {
                return 1;
            }
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name);
    for (i = 0; i < n; i++) {
        char path[4096];
        size_t size = 0;
        uint8_t *buf;

        snprintf(path, sizeof path, "%s/%s", argv[1], names[i]);
        buf = read_all(path, &size);
        if (buf == NULL) {
            fprintf(stderr, "%s: cannot read\n", path);
            failed = 1;
        } else {
            LLVMFuzzerTestOneInput(buf, size);
        }
        free(buf);
        free(names[i]);
    }
    free(names);
    if (n == 0) {
        fprintf(stderr, "%s: empty corpus\n", argv[1]);
        return 1;
    }
    printf("%zu inputs replayed from %s\n", n, argv[1]);
    return failed;
}
