/* registry.c — every environment by name.
 *
 * One line per environment; keep it a plain array so tasks can be added by adding a line.
 * Names follow Gym's "Name-vN"; the summary is the one line `cemrl envs` prints.
 */
#include "envs/env.h"
#include "envs/mujoco_tasks.h"
#include "envs/poincare_env.h"
#include "envs/sup_env.h"
#include "envs/tiny_tasks.h"

static const EnvEntry env_registry[] = {
    {"HalfCheetah-v4", "MuJoCo planar cheetah: run forward (Gymnasium v4)", env_make_half_cheetah},
    {"Hopper-v4", "MuJoCo one-legged hopper: hop forward, do not fall (v4)", env_make_hopper},
    {"Walker2d-v4", "MuJoCo planar biped: walk forward, do not fall (v4)", env_make_walker2d},
    {"Ant-v4", "MuJoCo quadruped: walk forward (v4 defaults, obs 27)", env_make_ant},
    {"AntContactForces-v4", "Ant-v4 with use_contact_forces=True (obs 111, contact cost)",
     env_make_ant_contact},
    {"Swimmer-v4", "MuJoCo 3-link swimmer in viscous fluid (v4)", env_make_swimmer},
    {"InvertedPendulum-v4", "MuJoCo cart-pole: keep it up (v4)", env_make_inverted_pendulum},
    {"InvertedDoublePendulum-v4", "MuJoCo cart with a double pole: keep it up (v4)",
     env_make_inverted_double_pendulum},
    {"Reacher-v4", "MuJoCo 2-link arm: reach a random target (v4, 50 steps)", env_make_reacher},
    {"Humanoid-v4", "MuJoCo 3-D humanoid: walk forward (v4, obs 376)", env_make_humanoid},
    {"Pendulum-v1", "classic swing-up (Gym Pendulum-v1), plain C", tiny_pendulum_make},
    {"PointMassLQR-v0", "1-D point mass, quadratic cost, closed-form optimum", tiny_lqr_make},
    {"Bandit1D-v0", "one step: match the observed target, reward 1 - (a-c)^2", tiny_bandit_make},
    {"Sup-Regress-v0", "supervised, one step: predict y(x), x in R^4, reward -squared error",
     sup_env_make_regress},
    {"SupFit-Regress-v0", "supervised fitness: 100 examples, return -(mean squared error)",
     sup_env_make_regress_fit},
    {"Sup-FashionMNIST-v0", "supervised, one step: classify an image, reward -cross-entropy",
     sup_env_make_fashion},
    {"SupFit-FashionMNIST-v0", "supervised fitness: 100 images, return -(mean cross-entropy)",
     sup_env_make_fashion_fit},
    {"Sup-Du-v0", "supervised, one step: Du et al. random labels on the sphere (d 200)",
     sup_env_make_du},
    {"SupFit-Du-v0", "supervised fitness: Du et al. random labels, 100 examples",
     sup_env_make_du_fit},
    {"Sup-JiTelgarsky-v0", "supervised, one step: separable data, known max margin, logistic",
     sup_env_make_ji},
    {"SupFit-JiTelgarsky-v0", "supervised fitness: separable data, 100 examples, logistic",
     sup_env_make_ji_fit},
    {"PoincareMammal-v0", "WordNet mammals in the Poincare ball: place each node, return -loss",
     poincare_env_make_mammal},
};

int env_registry_count(void) { return (int)(sizeof env_registry / sizeof env_registry[0]); }

const EnvEntry *env_registry_at(int i) {
  CORE_ASSERT(i >= 0 && i < env_registry_count());
  return &env_registry[i];
}
