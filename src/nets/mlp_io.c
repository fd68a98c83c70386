/* mlp_io.c — saving and loading networks through the checkpoint container.
 *
 * Two sections per network under a prefix:
 *   "<prefix>.arch"   the layer list, little-endian 32-bit fields:
 *                     "nnar", version, in_dim, n_layers, then per layer
 *                     kind, out (linear; else 0), alpha (float bits), n_scale, n_scale floats
 *   "<prefix>.params" the flat parameter vector, n_params floats (host order; the container
 *                     records the float size and endianness)
 * Loading parses the stored layer list, compares it with the network and names the first
 * difference, then reads the parameters with an exact size check.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "nets/mlp.h"
#include "nets/mlp_internal.h"

#define ARCH_MAGIC "nnar"
#define ARCH_VERSION 1u

static void put_u32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t float_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

static float bits_float(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

/* Section name "<prefix>.<field>" into buf; CORE_ERR_INVALID if it does not fit. */
static int section_name(char *buf, size_t n, const char *prefix, const char *field,
                        CoreErr *err) {
  int k = snprintf(buf, n, "%s.%s", prefix, field);
  if (k < 0 || (size_t)k >= n || k > CORE_CKPT_NAME_MAX)
    return core_err_set(err, CORE_ERR_INVALID,
                        "network checkpoint prefix '%s' is too long (at most %d bytes with .%s)",
                        prefix, CORE_CKPT_NAME_MAX, field);
  return CORE_OK;
}

int nn_mlp_save(const NnMlp *net, CoreCkptWriter *w, const char *prefix, CoreErr *err) {
  char name_arch[CORE_CKPT_NAME_MAX + 2], name_params[CORE_CKPT_NAME_MAX + 2];
  int rc;
  if ((rc = section_name(name_arch, sizeof name_arch, prefix, "arch", err)) < 0) return rc;
  if ((rc = section_name(name_params, sizeof name_params, prefix, "params", err)) < 0) return rc;

  size_t size = 16;
  for (int l = 0; l < net->n_layers; l++)
    size += 16 + (net->layers[l].scale ? 4 * (size_t)net->layers[l].out : 0);
  unsigned char *buf = core_malloc(size);
  if (!buf) return core_err_set(err, CORE_ERR_NOMEM, "saving network '%s': out of memory", prefix);
  unsigned char *p = buf;
  memcpy(p, ARCH_MAGIC, 4);
  put_u32(p + 4, ARCH_VERSION);
  put_u32(p + 8, (uint32_t)net->in_dim);
  put_u32(p + 12, (uint32_t)net->n_layers);
  p += 16;
  for (int l = 0; l < net->n_layers; l++) {
    const NnLayer *L = &net->layers[l];
    int ns = L->scale ? L->out : 0;
    put_u32(p, (uint32_t)L->kind);
    put_u32(p + 4, (uint32_t)(L->kind == NN_LINEAR ? L->out : 0));
    put_u32(p + 8, float_bits(L->alpha));
    put_u32(p + 12, (uint32_t)ns);
    p += 16;
    for (int j = 0; j < ns; j++, p += 4) put_u32(p, float_bits(L->scale[j]));
  }
  CORE_ASSERT((size_t)(p - buf) == size);
  rc = core_ckpt_add_copy(w, name_arch, buf, size, err);
  core_free(buf);
  if (rc < 0) return rc;
  return core_ckpt_add(w, name_params, net->params, net->n_params * sizeof(float), err);
}

/* ---------------------------------------------------------------- load */

/* A layer list read back from a checkpoint; descs[l].scale points into scales. */
typedef struct {
  int in_dim, n_layers;
  NnLayerDesc *descs;   /* (n_layers) */
  float *scales;        /* all per-unit factors, in layer order */
} StoredArch;

static void stored_arch_release(StoredArch *a) {
  core_free(a->descs);
  core_free(a->scales);
  memset(a, 0, sizeof *a);
}

/* Parse "<prefix>.arch"; every field is bounds-checked against the section size first. */
static int stored_arch_read(StoredArch *a, const CoreCkpt *c, const char *prefix, CoreErr *err) {
  char name[CORE_CKPT_NAME_MAX + 2];
  int rc;
  memset(a, 0, sizeof *a);
  if ((rc = section_name(name, sizeof name, prefix, "arch", err)) < 0) return rc;
  const char *label = core_ckpt_label(c);
  size_t size;
  const unsigned char *p = core_ckpt_find(c, name, &size);
  if (!p)
    return core_err_set(err, CORE_ERR_NOTFOUND,
                        "%s: no section '%s' (was a network saved under prefix '%s'?)", label,
                        name, prefix);
  if (size < 16 || memcmp(p, ARCH_MAGIC, 4) != 0)
    return core_err_set(err, CORE_ERR_CORRUPT, "%s: section '%s' is not a network description",
                        label, name);
  uint32_t version = get_u32(p + 4);
  if (version != ARCH_VERSION)
    return core_err_set(err, CORE_ERR_CORRUPT,
                        "%s: section '%s': network description version %u (this build reads %u)",
                        label, name, version, ARCH_VERSION);
  uint32_t in_dim = get_u32(p + 8), n_layers = get_u32(p + 12);
  /* 16 bytes per layer at least: a count the section cannot hold is corrupt, checked before
   * allocating anything */
  if (n_layers < 1 || n_layers > (size - 16) / 16 || in_dim < 1 || in_dim > INT32_MAX)
    return core_err_set(err, CORE_ERR_CORRUPT,
                        "%s: section '%s': bad sizes (input width %u, %u layers in %zu bytes)",
                        label, name, in_dim, n_layers, size);
  size_t total_scale = (size - 16) / 4;
  a->in_dim = (int)in_dim;
  a->n_layers = (int)n_layers;
  a->descs = core_calloc(n_layers, sizeof *a->descs);
  a->scales = core_calloc(total_scale ? total_scale : 1, sizeof(float));
  if (!a->descs || !a->scales) {
    stored_arch_release(a);
    return core_err_set(err, CORE_ERR_NOMEM, "%s: section '%s': out of memory", label, name);
  }
  size_t at = 16, used = 0;
  int width = a->in_dim;
  for (int l = 0; l < a->n_layers; l++) {
    if (size - at < 16) goto truncated;
    NnLayerDesc *d = &a->descs[l];
    uint32_t kind = get_u32(p + at), out = get_u32(p + at + 4), ns = get_u32(p + at + 12);
    d->alpha = bits_float(get_u32(p + at + 8));
    at += 16;
    if (kind >= NN_NKIND) {
      stored_arch_release(a);
      return core_err_set(err, CORE_ERR_CORRUPT, "%s: section '%s': layer %d has unknown kind %u",
                          label, name, l, kind);
    }
    d->kind = (int)kind;
    d->out = (int)(out > INT32_MAX ? 0 : out);
    if (kind == NN_LINEAR) width = d->out;
    if (ns) {
      if (kind != NN_SCALE || ns != (uint32_t)width) {
        stored_arch_release(a);
        return core_err_set(err, CORE_ERR_CORRUPT,
                            "%s: section '%s': layer %d has %u scale factors (width %d)", label,
                            name, l, ns, width);
      }
      if ((size - at) / 4 < ns) goto truncated;
      d->scale = a->scales + used;
      for (uint32_t j = 0; j < ns; j++, at += 4) a->scales[used++] = bits_float(get_u32(p + at));
    }
  }
  if (at != size) {
    stored_arch_release(a);
    return core_err_set(err, CORE_ERR_CORRUPT, "%s: section '%s': %zu trailing bytes", label,
                        name, size - at);
  }
  size_t np;
  if ((rc = nn_descs_check_(a->in_dim, a->descs, a->n_layers, &np, NULL, err)) < 0) {
    stored_arch_release(a);
    core_err_prefix(err, "%s: section '%s': ", label, name);
    if (err) err->code = CORE_ERR_CORRUPT;
    return CORE_ERR_CORRUPT;
  }
  return CORE_OK;

truncated:
  stored_arch_release(a);
  return core_err_set(err, CORE_ERR_CORRUPT, "%s: section '%s' is truncated", label, name);
}

/* Does kind use alpha? */
static int uses_alpha(const NnLayerDesc *d) {
  return d->kind == NN_LEAKY_RELU || d->kind == NN_ELU || (d->kind == NN_SCALE && !d->scale);
}

/* Short text of one layer ("linear(400)", "leaky_relu(0.01)", "scale[per-unit]"). */
static void layer_text(char *buf, size_t n, const NnLayerDesc *d) {
  if (d->kind == NN_LINEAR)
    snprintf(buf, n, "linear(%d)", d->out);
  else if (uses_alpha(d))
    snprintf(buf, n, "%s(%g)", nn_layer_kind_names[d->kind], (double)d->alpha);
  else if (d->kind == NN_SCALE)
    snprintf(buf, n, "scale[per-unit]");
  else
    snprintf(buf, n, "%s", nn_layer_kind_names[d->kind]);
}

/* First difference between the stored and the built description, as text ("" if none). */
static void arch_diff(char *buf, size_t n, const StoredArch *a, int in_dim,
                      const NnLayerDesc *mine, int n_layers) {
  buf[0] = '\0';
  if (a->in_dim != in_dim) {
    snprintf(buf, n, "input width is %d in the checkpoint but %d here", a->in_dim, in_dim);
    return;
  }
  if (a->n_layers != n_layers) {
    snprintf(buf, n, "the checkpoint has %d layers, this network %d", a->n_layers, n_layers);
    return;
  }
  for (int l = 0; l < n_layers; l++) {
    const NnLayerDesc *s = &a->descs[l], *m = &mine[l];
    int same = s->kind == m->kind;
    if (same && s->kind == NN_LINEAR) same = s->out == m->out;
    if (same && s->kind == NN_SCALE) same = (s->scale != NULL) == (m->scale != NULL);
    if (same && uses_alpha(s)) same = float_bits(s->alpha) == float_bits(m->alpha);
    if (!same) {
      char ts[64], tm[64];
      layer_text(ts, sizeof ts, s);
      layer_text(tm, sizeof tm, m);
      snprintf(buf, n, "layer %d is %s in the checkpoint but %s here", l, ts, tm);
      return;
    }
    if (s->kind == NN_SCALE && s->scale) {
      /* widths agree here: every earlier layer matched */
      int w = in_dim;
      for (int k = 0; k <= l; k++)
        if (mine[k].kind == NN_LINEAR) w = mine[k].out;
      for (int j = 0; j < w; j++)
        if (float_bits(s->scale[j]) != float_bits(m->scale[j])) {
          snprintf(buf, n, "layer %d (scale): factor %d is %g in the checkpoint but %g here", l,
                   j, (double)s->scale[j], (double)m->scale[j]);
          return;
        }
    }
  }
}

int nn_mlp_load(NnMlp *net, const CoreCkpt *c, const char *prefix, CoreErr *err) {
  char name_params[CORE_CKPT_NAME_MAX + 2];
  int rc;
  if ((rc = section_name(name_params, sizeof name_params, prefix, "params", err)) < 0) return rc;
  StoredArch a;
  if ((rc = stored_arch_read(&a, c, prefix, err)) < 0) return rc;
  NnLayerDesc stack[64];
  NnLayerDesc *mine =
      net->n_layers <= 64 ? stack : core_malloc((size_t)net->n_layers * sizeof *mine);
  if (!mine) {
    stored_arch_release(&a);
    return core_err_set(err, CORE_ERR_NOMEM, "loading network '%s': out of memory", prefix);
  }
  nn_mlp_descs_(net, mine);
  char diff[256];
  arch_diff(diff, sizeof diff, &a, net->in_dim, mine, net->n_layers);
  if (diff[0]) {
    char ds[384], dm[384];
    nn_descs_describe_(a.in_dim, a.descs, a.n_layers, ds, sizeof ds);
    nn_descs_describe_(net->in_dim, mine, net->n_layers, dm, sizeof dm);
    rc = core_err_set(err, CORE_ERR_INVALID,
                      "%s: network '%s' does not match: %s (checkpoint: %s; this network: %s)",
                      core_ckpt_label(c), prefix, diff, ds, dm);
  }
  if (mine != stack) core_free(mine);
  stored_arch_release(&a);
  if (rc < 0) return rc;
  return core_ckpt_read(c, name_params, net->params, net->n_params * sizeof(float), err);
}

NnMlp *nn_mlp_create_from_ckpt(const CoreCkpt *c, const char *prefix, int max_batch,
                               CoreErr *err) {
  StoredArch a;
  if (stored_arch_read(&a, c, prefix, err) < 0) return NULL;
  /* the parameters must be in the file before a network of that size is allocated: a damaged
   * description could otherwise ask for gigabytes */
  char name_params[CORE_CKPT_NAME_MAX + 2];
  size_t have = 0;
  long want = nn_mlp_count_params(a.in_dim, a.descs, a.n_layers);
  if (section_name(name_params, sizeof name_params, prefix, "params", err) < 0) {
    stored_arch_release(&a);
    return NULL;
  }
  const void *params = want >= 0 ? core_ckpt_find(c, name_params, &have) : NULL;
  if (want >= 0 && (!params || have != (size_t)want * sizeof(float))) {
    if (!params)
      core_err_set(err, CORE_ERR_CORRUPT, "%s: no section '%s' (the parameters of network '%s')",
                   core_ckpt_label(c), name_params, prefix);
    else
      core_err_set(err, CORE_ERR_CORRUPT, "%s: network '%s' describes %ld parameters but section "
                   "'%s' holds %zu bytes (damaged or mismatched file)", core_ckpt_label(c),
                   prefix, want, name_params, have);
    stored_arch_release(&a);
    return NULL;
  }
  NnMlp *net = nn_mlp_create(a.in_dim, a.descs, a.n_layers, max_batch, err);
  stored_arch_release(&a);
  if (!net) return NULL;
  if (nn_mlp_load(net, c, prefix, err) < 0) {
    nn_mlp_free(net);
    return NULL;
  }
  return net;
}
