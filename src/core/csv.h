/* csv.h — metrics logs as CSV: one header line of column names, then one row per report, each
 * flushed as written so a crash loses at most the row in progress. A resumed run reopens its
 * file, checks the header, drops a truncated last line and any rows past the checkpoint's step,
 * and appends: the curve continues instead of restarting at 0. Numbers are written in the
 * shortest form that reads back exactly; a step column is written as an exact integer. */
#ifndef CEMRL_CORE_CSV_H
#define CEMRL_CORE_CSV_H

#include <stdint.h>

#include "core/err.h"

typedef struct CoreCsv CoreCsv;

/* Create (or truncate) path and write the header. Column names are non-empty and contain no
 * comma, quote or newline. NULL with err filled on failure. */
CoreCsv *core_csv_create(const char *path, const char *const *cols, int n_cols, CoreErr *err);

/* Reopen path for appending (creating it if missing). The header must equal cols
 * (CORE_ERR_INVALID otherwise). A last line without its newline is dropped. If keep_upto >= 0,
 * the first column is read as the step and rows with step > keep_upto are dropped (they were
 * written after the checkpoint being resumed). */
CoreCsv *core_csv_resume(const char *path, const char *const *cols, int n_cols, int64_t keep_upto,
                         CoreErr *err);

/* Append a row of n_cols doubles and flush. */
int core_csv_row(CoreCsv *c, const double *vals, int n, CoreErr *err);

/* Append a row whose first column is an exact integer step, then n_cols - 1 doubles; flush. */
int core_csv_row_step(CoreCsv *c, int64_t step, const double *vals, int n, CoreErr *err);

/* Data rows in the file (kept on resume plus appended). */
int64_t core_csv_rows(const CoreCsv *c);

/* Close and free (NULL is a no-op). */
void core_csv_close(CoreCsv *c);

#endif
