/* repro_ji.c — `cemrl repro ji-telgarsky`: Ji & Telgarsky (ICLR 2019), spec papers.md §2(d).
 *
 * d = 10, n = 100 separable points with a known max-margin direction ū (γ0 = 0.1); a depth-4
 * linear net 10-10-10-1, W_k(0) ~ N(0, 0.1²/d_{k−1}), logistic loss, constant η = 0.5, T = 10⁴
 * GD steps; plain logistic regression from 0 with the same η for comparison. Checked every step:
 * the risk never rises and the norm differences |W_{k+1}|_F² − |W_k|_F² stay within the GD slack
 * 2ηR(W(0)); at the logged steps: Lemma 2's two bounds. At T: risk, ratios, alignments,
 * cos(w_prod, ū). The full run adds two informative cases: init scale 1.0 (slow alignment) and
 * the paper's 2-D picture (d = 2, init 0.3).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "app/repro_optim.h"
#include "core/alloc.h"
#include "envs/sup.h"
#include "envs/sup_ji.h"

#define JI_DEPTH 4

typedef struct {
  double risk;                      /* at T */
  int risk_rises;                   /* steps where R(t+1) > R(t) */
  double worst_rise;                /* the largest relative rise */
  SupJiMetrics met;                 /* at T */
  double d_const, slack;            /* Lemma 2's D and the GD slack 2ηR(W(0)) */
  int lemma_i_fail, lemma_ii_fail;  /* logged steps where a bound failed (with slack) */
  int strict_fail;                  /* the same without the slack (informative) */
  double lemma_i_margin;            /* min over logged t, k of (D + slack) − (|W|_F² − |W|₂²) */
  double lemma_ii_margin;           /* min of <v,u>² − bound */
  double max_drift;                 /* max |Δ(|W_{k+1}|_F² − |W_k|_F²)| over all steps */
  double cos_linear;                /* plain logistic regression's cos(w, ū) at T */
} JiResult;

static void criterion_(int *all, int ok, const char *fmt, ...) CORE_PRINTF(3, 4);
static void criterion_(int *all, int ok, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("  [%s] ", ok ? "PASS" : "FAIL");
  vprintf(fmt, ap);
  printf("\n");
  va_end(ap);
  *all &= ok;
}

static int is_logged_(long t, long T) {
  if (t == T) return 1;
  for (long p = 1; p <= t; p *= 10)
    if (t == p || t == 2 * p || t == 5 * p) return 1;
  return t % 1000 == 0;
}

/* Frobenius norms squared of every layer. */
static void fro2_(const SupJiNet *net, double *f2) {
  for (int k = 0; k < net->depth; k++) {
    size_t sz = (size_t)net->dims[k + 1] * net->dims[k];
    double s = 0.0;
    for (size_t i = 0; i < sz; i++) s += net->w[k][i] * net->w[k][i];
    f2[k] = s;
  }
}

/* One run: data of width d (n points), a deep linear net with init scale, T steps of η. */
static int run_(int d, int n, double init, double eta, long T, uint64_t seed, int verbose,
                JiResult *res, CoreErr *err) {
  memset(res, 0, sizeof *res);
  SupTaskSpec spec = sup_task_spec_default(SUP_TASK_JI_TELGARSKY);
  spec.dim = d;
  spec.n_train = n;
  spec.seed = seed;
  SupTask *task = sup_task_create(&spec, err);
  if (!task) return err ? err->code : CORE_ERR_INVALID;
  double *z = core_malloc(sizeof(double) * ((size_t)n * d + d));
  if (!z) {
    sup_task_free(task);
    return core_err_set(err, CORE_ERR_NOMEM, "out of memory");
  }
  double *w_lin = z + (size_t)n * d;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < d; j++)
      z[(size_t)i * d + j] = (double)task->y[SUP_TRAIN][i] * task->x[SUP_TRAIN][(size_t)i * d + j];
  int dims[JI_DEPTH + 1] = {d, d, d, d, 1};
  CoreRng rng;
  core_rng_stream(&rng, seed, CORE_RNG_INIT, 0);
  SupJiNet *net = sup_ji_net_create(JI_DEPTH, dims, init, &rng, err);
  int rc = net ? 0 : (err ? err->code : CORE_ERR_NOMEM);
  double f2_0[JI_DEPTH], spec0[JI_DEPTH];
  if (!rc) rc = sup_ji_lemma2_d(net, &res->d_const, err);
  SupJiMetrics m0;
  if (!rc) rc = sup_ji_metrics(net, task->u_bar, &m0, err);
  if (rc) goto done;
  fro2_(net, f2_0);
  for (int k = 0; k < JI_DEPTH; k++) spec0[k] = m0.spec[k];
  double r_prev = sup_ji_risk_grad(net, z, n, SUP_JI_LOGISTIC, 1);
  res->slack = 2.0 * eta * r_prev;
  res->lemma_i_margin = res->lemma_ii_margin = INFINITY;
  if (verbose)
    printf("%7s %11s %8s %8s %8s %9s %9s %10s\n", "t", "risk", "ratio1", "ratio2", "ratio3",
           "min align", "cos(w,u)", "|W1|_F");
  for (long t = 0;; t++) {
    /* the norm-difference invariant, every step */
    double f2[JI_DEPTH];
    fro2_(net, f2);
    for (int k = 0; k + 1 < JI_DEPTH; k++) {
      double drift = fabs((f2[k + 1] - f2[k]) - (f2_0[k + 1] - f2_0[k]));
      if (drift > res->max_drift) res->max_drift = drift;
    }
    if (is_logged_(t, T)) {
      SupJiMetrics m;
      if ((rc = sup_ji_metrics(net, task->u_bar, &m, err))) goto done;
      /* Lemma 2 with the GD slack on D */
      const double D = res->d_const + res->slack;
      for (int k = 0; k < JI_DEPTH; k++) {
        double margin = D - (m.fro[k] * m.fro[k] - m.spec[k] * m.spec[k]);
        if (margin < res->lemma_i_margin) res->lemma_i_margin = margin;
        if (margin < 0) res->lemma_i_fail++;
        if (margin - res->slack < 0) res->strict_fail++;
      }
      for (int k = 0; k + 1 < JI_DEPTH; k++) {
        double s2 = m.spec[k + 1] * m.spec[k + 1];
        double bound = 1.0 - (D + spec0[k + 1] * spec0[k + 1] + spec0[k] * spec0[k]) / s2;
        double margin = m.align[k] * m.align[k] - bound;
        if (margin < res->lemma_ii_margin) res->lemma_ii_margin = margin;
        if (margin < -1e-12) res->lemma_ii_fail++;
        double strict =
            1.0 - (res->d_const + spec0[k + 1] * spec0[k + 1] + spec0[k] * spec0[k]) / s2;
        if (m.align[k] * m.align[k] < strict - 1e-12) res->strict_fail++;
      }
      if (verbose)
        printf("%7ld %11.4e %8.5f %8.5f %8.5f %9.6f %9.6f %10.4f\n", t, r_prev, m.ratio[0],
               m.ratio[1], m.ratio[2], m.min_align, m.cos_u_bar, m.fro[0]);
      if (t == T) res->met = m;
    }
    if (t == T) break;
    sup_ji_step(net, eta);
    double r = sup_ji_risk_grad(net, z, n, SUP_JI_LOGISTIC, 1);
    if (r > r_prev) {
      res->risk_rises++;
      double rel = (r - r_prev) / r_prev;
      if (rel > res->worst_rise) res->worst_rise = rel;
    }
    r_prev = r;
  }
  res->risk = r_prev;
  /* plain logistic regression from w = 0, same η and T */
  memset(w_lin, 0, sizeof(double) * (size_t)d);
  for (long t = 0; t < T; t++) {
    double g[1024] = {0};
    for (int i = 0; i < n; i++) {
      double s = 0.0;
      for (int j = 0; j < d; j++) s += w_lin[j] * z[(size_t)i * d + j];
      double dl = -1.0 / (1.0 + exp(s));
      for (int j = 0; j < d; j++) g[j] += dl * z[(size_t)i * d + j] / n;
    }
    for (int j = 0; j < d; j++) w_lin[j] -= eta * g[j];
  }
  double dot = 0.0, nw = 0.0;
  for (int j = 0; j < d; j++) dot += w_lin[j] * task->u_bar[j], nw += w_lin[j] * w_lin[j];
  res->cos_linear = nw > 0 ? dot / sqrt(nw) : 0.0;
done:
  sup_ji_net_free(net);
  core_free(z);
  sup_task_free(task);
  return rc;
}

int repro_ji(int argc, char **argv) {
  ReproOptArgs args;
  int prc = repro_opt_args(argc, argv,
      "usage: cemrl repro ji-telgarsky [--quick] [--seed S]\n\n"
      "Ji & Telgarsky (ICLR 2019), spec papers.md 2(d): GD on a depth-4 linear net over\n"
      "separable data with a known max-margin direction; d = 10, n = 100, eta = 0.5,\n"
      "T = 10^4 (about a second). The full run adds init scale 1.0 and the 2-D case.\n"
      "  --quick   the pass-criteria run only, printing less\n"
      "  --seed S  data and init seed (default 0)\n", NULL, &args);
  if (prc) return prc == 1 ? 0 : prc;
  const int quick = args.quick;
  const long long seed = (long long)args.seed;
  const int d = 10, n = 100;
  const double eta = 0.5, init = 0.1;
  const long T = 10000;
  CoreErr err;
  core_err_clear(&err);
  printf("Ji & Telgarsky (ICLR 2019) reduced reproduction%s: d = %d, n = %d, gamma0 = 0.1, "
         "depth %d (10-10-10-1), init 0.1, logistic loss, eta = %.2f, T = %ld, seed %lld\n\n",
         quick ? " (quick)" : "", d, n, JI_DEPTH, eta, T, seed);
  JiResult r;
  int rc = run_(d, n, init, eta, T, (uint64_t)seed, !quick, &r, &err);
  if (rc) return app_fail(&err);
  printf("%sat t = %ld: risk %.3e; ratios %.5f %.5f %.5f (W4 is a row: 1); alignments %.6f %.6f "
         "%.6f; cos(w_prod, u_bar) = %.6f (plain logistic regression: %.6f)\n", quick ? "" : "\n",
         T, r.risk, r.met.ratio[0], r.met.ratio[1], r.met.ratio[2], r.met.align[0], r.met.align[1],
         r.met.align[2], r.met.cos_u_bar, r.cos_linear);
  printf("Lemma 2: D = %.4f, GD slack 2 eta R(W(0)) = %.4f; without the slack the bounds failed "
         "%d times; norm-difference drift %.4g\n", r.d_const, r.slack, r.strict_fail, r.max_drift);
  printf("spec proto: risk 1.2e-5, ratios 0.9973/0.9980/0.9974, alignments 1.0000, cos 0.99977 "
         "(plain linear 0.99333), D = 0.153, drift 0.006\n");

  printf("\npass criteria (spec papers.md 2(d), at t = %ld):\n", T);
  int all = 1;
  criterion_(&all, r.risk <= 1e-4, "risk <= 1e-4: %.3e", r.risk);
  criterion_(&all, r.risk_rises == 0, "risk non-increasing at every step: %d rises (largest "
             "relative %.2e)", r.risk_rises, r.worst_rise);
  criterion_(&all, r.met.min_ratio >= 0.99, "min_k<L ratio |W_k|_2/|W_k|_F >= 0.99: %.5f",
             r.met.min_ratio);
  criterion_(&all, r.met.min_align >= 0.999, "min_k alignment |<v_k+1, u_k>| >= 0.999: %.6f",
             r.met.min_align);
  criterion_(&all, r.met.cos_u_bar >= 0.999, "cos(w_prod, u_bar) >= 0.999: %.6f",
             r.met.cos_u_bar);
  criterion_(&all, r.lemma_i_fail == 0 && r.lemma_ii_fail == 0,
             "Lemma 2 bounds at every logged t (slack 2 eta R(W(0)) on D): %d + %d failures "
             "(smallest margins %.4g, %.4g)", r.lemma_i_fail, r.lemma_ii_fail, r.lemma_i_margin,
             r.lemma_ii_margin);
  criterion_(&all, r.max_drift <= r.slack, "|change of |W_k+1|_F^2 - |W_k|_F^2| <= 2 eta R(W(0)) "
             "= %.4f: %.4g", r.slack, r.max_drift);

  if (!quick) {
    printf("\ninformative (no pass criterion):\n");
    JiResult big, two;
    if ((rc = run_(d, n, 1.0, eta, 2 * T, (uint64_t)seed, 0, &big, &err))) return app_fail(&err);
    printf("  init scale 1.0, t = %ld: ratios %.4f %.4f %.4f, min alignment %.4f, cos %.6f (spec "
           "proto: ratios only 0.81-0.86)\n", 2 * T, big.met.ratio[0], big.met.ratio[1],
           big.met.ratio[2], big.met.min_align, big.met.cos_u_bar);
    if ((rc = run_(2, n, 0.3, eta, T, (uint64_t)seed, 0, &two, &err))) return app_fail(&err);
    printf("  d = 2 (the paper's Fig. 1), init 0.3, t = %ld: cos(w_prod, u_bar) = %.6f (plain "
           "linear %.6f), risk %.3e\n", T, two.met.cos_u_bar, two.cos_linear, two.risk);
  }
  printf("\n%s\n", all ? "PASS: every criterion holds" : "FAIL: some criterion does not hold");
  return all ? 0 : 1;
}
