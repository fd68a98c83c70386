/* cfg_emit.c — what the field table produces besides parsing: defaults, the help listing, the
 * resolved JSON, struct comparison; plus typed member access and the small helpers shared by
 * the loader. */
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/alloc.h"
#include "core/cfg_internal.h"
#include "core/fsutil.h"

/* ---------------------------------------------------------------- typed access */

double cfg_get_num(const CoreCfgField *f, const void *base) {
  const char *p = (const char *)base + f->offset;
  switch (f->type) {
    case CORE_CFG_T_BOOL: return f->size == sizeof(bool) ? *(const bool *)p : *(const int *)p;
    case CORE_CFG_T_INT:
    case CORE_CFG_T_ENUM: return *(const int *)p;
    case CORE_CFG_T_INT64: return (double)*(const int64_t *)p;
    case CORE_CFG_T_DOUBLE: return *(const double *)p;
    default: CORE_ASSERT(!"not a numeric field"); return 0;
  }
}

void cfg_set_num(const CoreCfgField *f, void *base, double v) {
  char *p = (char *)base + f->offset;
  switch (f->type) {
    case CORE_CFG_T_BOOL:
      if (f->size == sizeof(bool)) *(bool *)p = v != 0;
      else *(int *)p = v != 0;
      break;
    case CORE_CFG_T_INT:
    case CORE_CFG_T_ENUM: *(int *)p = (int)v; break;
    case CORE_CFG_T_INT64: *(int64_t *)p = (int64_t)v; break;
    case CORE_CFG_T_DOUBLE: *(double *)p = v; break;
    default: CORE_ASSERT(!"not a numeric field");
  }
}

const char *cfg_get_str(const CoreCfgField *f, const void *base) {
  return (const char *)base + f->offset;
}

void cfg_set_str(const CoreCfgField *f, void *base, const char *s) {
  char *p = (char *)base + f->offset;
  size_t n = strlen(s);
  CORE_ASSERT(n < f->size);
  memset(p, 0, f->size);  /* whole array, so equal settings are equal bytes */
  memcpy(p, s, n);
}

void cfg_int_range(const CoreCfgField *f, double *lo, double *hi) {
  double tlo = f->type == CORE_CFG_T_INT ? (double)INT32_MIN : -CFG_INT53;
  double thi = f->type == CORE_CFG_T_INT ? (double)INT32_MAX : CFG_INT53;
  *lo = f->min > tlo ? ceil(f->min) : tlo;
  *hi = f->max < thi ? floor(f->max) : thi;
}

const char *cfg_type_name(CoreCfgType t) {
  static const char *names[CORE_CFG_NTYPE] = {"end",    "bool", "int",     "int64", "double",
                                              "string", "enum", "section", "rule"};
  return (t >= 0 && t < CORE_CFG_NTYPE) ? names[t] : "?";
}

int cfg_choice_index(const char *const *choices, const char *name) {
  for (int i = 0; choices[i]; i++)
    if (!strcmp(choices[i], name)) return i;
  return -1;
}

int cfg_edit_distance(const char *a, const char *b) {
  enum { MAXL = 64 };
  size_t n = strlen(a), m = strlen(b);
  if (n > MAXL || m > MAXL) return 1 << 20;
  int d[MAXL + 1][MAXL + 1];
  for (size_t i = 0; i <= n; i++) d[i][0] = (int)i;
  for (size_t j = 0; j <= m; j++) d[0][j] = (int)j;
  for (size_t i = 1; i <= n; i++) {
    for (size_t j = 1; j <= m; j++) {
      int cost = a[i - 1] != b[j - 1];
      int best = d[i - 1][j - 1] + cost;
      if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
          d[i - 2][j - 2] + 1 < best)
        best = d[i - 2][j - 2] + 1;  /* adjacent transposition */
      d[i][j] = best;
    }
  }
  return d[n][m];
}

/* ---------------------------------------------------------------- defaults */

/* Table sanity (programming errors): member sizes match types, defaults are valid. */
static void cfg_assert_field(const CoreCfgField *f) {
  switch (f->type) {
    case CORE_CFG_T_BOOL: CORE_ASSERT(f->size == sizeof(bool) || f->size == sizeof(int)); break;
    case CORE_CFG_T_INT:
    case CORE_CFG_T_INT64: {
      CORE_ASSERT(f->size == (f->type == CORE_CFG_T_INT ? sizeof(int) : sizeof(int64_t)));
      double lo, hi;
      cfg_int_range(f, &lo, &hi);
      CORE_ASSERT(lo <= hi);
      CORE_ASSERT(f->required ||
                  (f->def_num >= lo && f->def_num <= hi && f->def_num == floor(f->def_num)));
      break;
    }
    case CORE_CFG_T_DOUBLE:
      CORE_ASSERT(f->size == sizeof(double) && f->min <= f->max);
      CORE_ASSERT(f->required || (f->def_num >= f->min && f->def_num <= f->max));
      break;
    case CORE_CFG_T_STRING:
      CORE_ASSERT(f->size > 1 && (f->required || (f->def_str && strlen(f->def_str) < f->size)));
      break;
    case CORE_CFG_T_ENUM:
      CORE_ASSERT(f->size == sizeof(int) && f->choices && f->choices[0]);
      CORE_ASSERT(f->required || cfg_choice_index(f->choices, f->def_str ? f->def_str : "") >= 0);
      break;
    case CORE_CFG_T_SECTION: CORE_ASSERT(f->sub != NULL); break;
    case CORE_CFG_T_CHECK: CORE_ASSERT(f->check != NULL); break;
    default: CORE_ASSERT(!"bad field type");
  }
}

void core_cfg_defaults(const CoreCfgField *table, void *out) {
  CORE_ASSERT(table && out);
  for (const CoreCfgField *f = table; f->key; f++) {
    cfg_assert_field(f);
    switch (f->type) {
      case CORE_CFG_T_STRING: cfg_set_str(f, out, f->required ? "" : f->def_str); break;
      case CORE_CFG_T_ENUM:
        cfg_set_num(f, out, f->required ? 0 : cfg_choice_index(f->choices, f->def_str));
        break;
      case CORE_CFG_T_SECTION: core_cfg_defaults(f->sub, (char *)out + f->offset); break;
      case CORE_CFG_T_CHECK: break;
      default: cfg_set_num(f, out, f->required ? 0 : f->def_num);
    }
  }
}

/* ---------------------------------------------------------------- help listing */

enum { CFG_COLS = 4 };   /* path, type, default, range; the help text follows unpadded */

typedef struct {
  FILE *out;               /* NULL while measuring */
  int width[CFG_COLS];
} CfgHelp;

static void cfg_help_default(const CoreCfgField *f, char *buf, size_t n) {
  if (f->required) {
    snprintf(buf, n, "(required)");
    return;
  }
  switch (f->type) {
    case CORE_CFG_T_BOOL: snprintf(buf, n, "%s", f->def_num != 0 ? "true" : "false"); break;
    case CORE_CFG_T_INT:
    case CORE_CFG_T_INT64: snprintf(buf, n, "%.0f", f->def_num); break;
    case CORE_CFG_T_DOUBLE: core_format_double(buf, n, f->def_num); break;
    case CORE_CFG_T_STRING: snprintf(buf, n, "\"%s\"", f->def_str); break;
    case CORE_CFG_T_ENUM: snprintf(buf, n, "%s", f->def_str); break;
    default: buf[0] = '\0';
  }
}

static void cfg_help_range(const CoreCfgField *f, char *buf, size_t n) {
  char lo[40], hi[40];
  double ilo, ihi;
  buf[0] = '\0';
  switch (f->type) {
    case CORE_CFG_T_INT:
    case CORE_CFG_T_INT64:
      cfg_int_range(f, &ilo, &ihi);
      snprintf(buf, n, "[%.0f, %.0f]", ilo, ihi);
      break;
    case CORE_CFG_T_DOUBLE:
      core_format_double(lo, sizeof lo, f->min);
      core_format_double(hi, sizeof hi, f->max);
      snprintf(buf, n, "[%s, %s]", lo, hi);
      break;
    case CORE_CFG_T_STRING: snprintf(buf, n, "<= %zu chars", f->size - 1); break;
    case CORE_CFG_T_ENUM:
      for (int i = 0; f->choices[i]; i++) {
        size_t k = strlen(buf);
        snprintf(buf + k, n - k, "%s%s", i ? "|" : "", f->choices[i]);
      }
      break;
    default: break;
  }
}

static void cfg_help_row(CfgHelp *h, const char *cell[CFG_COLS], const char *help) {
  for (int c = 0; c < CFG_COLS; c++) {
    int w = (int)strlen(cell[c]);
    if (!h->out && w > h->width[c]) h->width[c] = w;
  }
  if (!h->out) return;
  fprintf(h->out, "  %-*s  %-*s  %-*s  %-*s  %s\n", h->width[0], cell[0], h->width[1], cell[1],
          h->width[2], cell[2], h->width[3], cell[3], help ? help : "");
}

static void cfg_help_table(CfgHelp *h, const CoreCfgField *table, const char *prefix) {
  for (const CoreCfgField *f = table; f->key; f++) {
    char path[512], def[256], range[512];
    snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] && f->key[0] ? "." : "", f->key);
    if (f->type == CORE_CFG_T_CHECK) {
      const char *cell[CFG_COLS] = {prefix[0] ? prefix : "(top)", "rule", "", ""};
      cfg_help_row(h, cell, f->help);
      continue;
    }
    cfg_help_default(f, def, sizeof def);
    cfg_help_range(f, range, sizeof range);
    const char *cell[CFG_COLS] = {path, cfg_type_name(f->type), def, range};
    cfg_help_row(h, cell, f->help);
    if (f->type == CORE_CFG_T_SECTION) cfg_help_table(h, f->sub, path);
  }
}

void core_cfg_print_help(const CoreCfgField *table, FILE *out) {
  CfgHelp h = {NULL, {3, 4, 7, 5}};  /* at least the header widths */
  cfg_help_table(&h, table, "");
  h.out = out;
  const char *head[CFG_COLS] = {"key", "type", "default", "range"};
  cfg_help_row(&h, head, "description");
  cfg_help_table(&h, table, "");
}

/* ---------------------------------------------------------------- resolved JSON */

static void cfg_json_value(CoreStrBuf *b, const CoreCfgField *f, const void *base, int indent);

static void cfg_json_object(CoreStrBuf *b, const CoreCfgField *table, const void *base,
                            int indent) {
  core_strbuf_puts(b, "{");
  int first = 1;
  for (const CoreCfgField *f = table; f->key; f++) {
    if (f->type == CORE_CFG_T_CHECK) continue;
    core_strbuf_printf(b, "%s\n%*s", first ? "" : ",", indent + 2, "");
    core_strbuf_json_string(b, f->key);
    core_strbuf_puts(b, ": ");
    cfg_json_value(b, f, base, indent + 2);
    first = 0;
  }
  core_strbuf_printf(b, "%s%*s}", first ? "" : "\n", first ? 0 : indent, "");
}

static void cfg_json_value(CoreStrBuf *b, const CoreCfgField *f, const void *base, int indent) {
  char num[48];
  switch (f->type) {
    case CORE_CFG_T_BOOL: core_strbuf_puts(b, cfg_get_num(f, base) != 0 ? "true" : "false"); break;
    case CORE_CFG_T_INT: core_strbuf_printf(b, "%d", (int)cfg_get_num(f, base)); break;
    case CORE_CFG_T_INT64:
      core_strbuf_printf(b, "%" PRId64, *(const int64_t *)((const char *)base + f->offset));
      break;
    case CORE_CFG_T_DOUBLE:
      core_format_double(num, sizeof num, cfg_get_num(f, base));
      /* keep a visible fraction so the file shows the setting is a real number */
      if (!strpbrk(num, ".eEn")) strcat(num, ".0");
      core_strbuf_puts(b, num);
      break;
    case CORE_CFG_T_STRING: core_strbuf_json_string(b, cfg_get_str(f, base)); break;
    case CORE_CFG_T_ENUM: core_strbuf_json_string(b, f->choices[(int)cfg_get_num(f, base)]); break;
    case CORE_CFG_T_SECTION:
      cfg_json_object(b, f->sub, (const char *)base + f->offset, indent);
      break;
    default: break;
  }
}

char *core_cfg_to_json(const CoreCfgField *table, const void *s) {
  CORE_ASSERT(table && s);
  CoreStrBuf b = CORE_STRBUF_INIT;
  cfg_json_object(&b, table, s, 0);
  core_strbuf_puts(&b, "\n");
  return core_strbuf_take(&b);
}

int core_cfg_write_json(const CoreCfgField *table, const void *s, const char *path, CoreErr *err) {
  char *text = core_cfg_to_json(table, s);
  if (!text) return core_err_set(err, CORE_ERR_NOMEM, "%s: out of memory rendering config", path);
  int rc = core_fs_write_atomic(path, text, strlen(text), err);
  core_free(text);
  return rc;
}

/* ---------------------------------------------------------------- comparison */

static int cfg_compare_table(const CoreCfgField *table, const void *a, const void *b,
                             const char *prefix, char *path, size_t path_sz) {
  for (const CoreCfgField *f = table; f->key; f++) {
    if (f->type == CORE_CFG_T_CHECK) continue;
    char here[512];
    snprintf(here, sizeof here, "%s%s%s", prefix, prefix[0] ? "." : "", f->key);
    int differ;
    if (f->type == CORE_CFG_T_SECTION)
      differ = cfg_compare_table(f->sub, (const char *)a + f->offset, (const char *)b + f->offset,
                                 here, path, path_sz);
    else if (f->type == CORE_CFG_T_STRING)
      differ = strcmp(cfg_get_str(f, a), cfg_get_str(f, b)) != 0;
    else if (f->type == CORE_CFG_T_INT64)
      differ = *(const int64_t *)((const char *)a + f->offset) !=
               *(const int64_t *)((const char *)b + f->offset);
    else differ = cfg_get_num(f, a) != cfg_get_num(f, b);
    if (!differ) continue;
    if (path && f->type != CORE_CFG_T_SECTION) snprintf(path, path_sz, "%s", here);
    return 1;
  }
  return 0;
}

int core_cfg_compare(const CoreCfgField *table, const void *a, const void *b, char *path,
                     size_t path_sz) {
  CORE_ASSERT(table && a && b);
  if (path && path_sz) path[0] = '\0';
  return cfg_compare_table(table, a, b, "", path, path_sz);
}
