/* cmd_repro.c — `cemrl repro NAME`: the papers' reduced reproductions with pass criteria. */
#include <stdio.h>
#include <string.h>

#include "app/app.h"
#include "app/repro.h"

/* Declarations of the reproductions (one line each, defined in src/app/repro_*.c). */
int repro_du(int argc, char **argv);
int repro_ji(int argc, char **argv);
int repro_fdr(int argc, char **argv);
int repro_vmf(int argc, char **argv);
int repro_a2grad(int argc, char **argv);
int repro_rq(int argc, char **argv);
int repro_nghf(int argc, char **argv);
int repro_abs(int argc, char **argv);
int repro_poincare(int argc, char **argv);

const AppRepro app_repros[] = {
    /* {"name", "summary", repro_fn}, */
    {"du", "Du et al.: GD on a wide two-layer ReLU net, linear rate and lazy weights vs width",
     repro_du},
    {"ji-telgarsky", "Ji & Telgarsky: deep linear net on separable data, layer alignment",
     repro_ji},
    {"fdr", "Yaida: fluctuation-dissipation ratio and FDR schedule, Fashion-MNIST MLP", repro_fdr},
    {"vmf", "Lee/Cho/Kang: vMF concentration of SGD gradient directions, Fashion-MNIST MLP",
     repro_vmf},
    {"a2grad", "Deng/Cheng/Lan: A2Grad vs Adam/AMSGrad, Fashion-MNIST logistic regression",
     repro_a2grad},
    {"rq", "Relaxed Quantization: RQ / RQ-ST vs rounding, Fashion-MNIST MLP", repro_rq},
    {"nghf", "Haider & Woodland: NGHF vs NG, HF, SGD on an expected-error criterion", repro_nghf},
    {"poincare", "Becigneul & Ganea: RSGD/RADAM/RAMSGRAD on the Poincare ball, WordNet",
     repro_poincare},
    {"abs", "Yao et al.: ABS / ABSA batch size from Hessian eigenvalues vs small/large batch",
     repro_abs},
    {NULL, NULL, NULL},
};

int cmd_repro(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
    FILE *f = argc < 2 ? stderr : stdout;
    fprintf(f, "usage: cemrl repro NAME [OPTIONS]   (cemrl repro NAME --help)\n\n"
               "Reduced reproductions of the supervised papers: each prints its measured figures\n"
               "beside the pass criteria of spec/papers.md and exits 0 only if all pass.\n\n");
    for (const AppRepro *r = app_repros; r->name; r++) fprintf(f, "  %-14s %s\n", r->name, r->summary);
    return argc < 2 ? 2 : 0;
  }
  for (const AppRepro *r = app_repros; r->name; r++)
    if (!strcmp(argv[1], r->name)) return r->run(argc - 1, argv + 1);
  return app_usage_error("repro", "unknown reproduction '%s'", argv[1]);
}
