/* test_envs_mujoco.c — the MuJoCo v4 tasks against spec/envs.md.
 *
 * Model facts (sections 1-10 and the 2.2.2 validation table of section 12), determinism,
 * rewards and observations recomputed here from the raw MuJoCo state (written independently of
 * the task code, from the spec's formulas), termination thresholds, truncation, divergence,
 * state save/restore, threads, and a broken model file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>

#include <mujoco/mujoco.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"
#include "core/alloc.h"
#include "core/rng.h"
#include "envs/env.h"
#include "envs/mujoco_env.h"
#include "envs/mujoco_tasks.h"

/* ---------------------------------------------------------------- facts from the spec */

typedef struct {
  const char *body;
  double mass;
} BodyMass;

typedef struct {
  const char *name;
  int nq, nv, nu, nbody, obs, frame_skip, max_steps;
  double timestep;
  int integrator;              /* mjINT_EULER or mjINT_RK4 */
  double total_mass;           /* section 12, 6 decimals */
  double act_lo, act_hi;
  double gear[17];             /* in actuator order */
  BodyMass masses[8];          /* per-body masses from the task sections (4-5 digits) */
} TaskFacts;

static const TaskFacts facts[] = {
    {"HalfCheetah-v4", 9, 9, 6, 8, 17, 5, 1000, 0.01, mjINT_EULER, 14.000000, -1, 1,
     {120, 90, 60, 120, 60, 30},
     {{"torso", 6.2502}, {"bthigh", 1.5435}, {"bshin", 1.5874}, {"bfoot", 1.0954},
      {"fthigh", 1.4381}, {"fshin", 1.2008}, {"ffoot", 0.8845}}},
    {"Hopper-v4", 6, 6, 3, 5, 11, 4, 1000, 0.002, mjINT_RK4, 15.820013, -1, 1, {200, 200, 200},
     {{"torso", 3.6652}, {"thigh", 4.0579}, {"leg", 2.7814}, {"foot", 5.3156}}},
    {"Walker2d-v4", 9, 9, 6, 8, 17, 4, 1000, 0.002, mjINT_RK4, 23.677137, -1, 1,
     {100, 100, 100, 100, 100, 100},
     {{"torso", 3.6652}, {"thigh", 4.0579}, {"leg", 2.7814}, {"foot", 3.1667},
      {"thigh_left", 4.0579}, {"leg_left", 2.7814}, {"foot_left", 3.1667}}},
    {"Ant-v4", 15, 14, 8, 14, 27, 5, 1000, 0.01, mjINT_RK4, 0.910880, -1, 1,
     {150, 150, 150, 150, 150, 150, 150, 150},
     {{"torso", 0.32725}, {"front_left_leg", 0.039158}, {"aux_1", 0.039158},
      {"back_leg", 0.039158}, {"aux_4", 0.039158}}},
    {"AntContactForces-v4", 15, 14, 8, 14, 111, 5, 1000, 0.01, mjINT_RK4, 0.910880, -1, 1,
     {150, 150, 150, 150, 150, 150, 150, 150},
     {{"torso", 0.32725}, {"front_left_leg", 0.039158}, {"aux_1", 0.039158},
      {"back_leg", 0.039158}, {"aux_4", 0.039158}}},
    {"Swimmer-v4", 5, 5, 2, 4, 8, 4, 1000, 0.01, mjINT_RK4, 106.814150, -1, 1, {150, 150},
     {{"torso", 35.6047}, {"mid", 35.6047}, {"back", 35.6047}}},
    {"InvertedPendulum-v4", 2, 2, 1, 3, 4, 2, 1000, 0.02, mjINT_RK4, 15.490567, -3, 3, {100},
     {{"cart", 10.472}, {"pole", 5.0186}}},
    {"InvertedDoublePendulum-v4", 3, 3, 1, 4, 11, 5, 1000, 0.01, mjINT_RK4, 18.869453, -1, 1,
     {500},
     {{"cart", 10.472}, {"pole", 4.1987}, {"pole2", 4.1987}}},
    {"Reacher-v4", 4, 4, 2, 5, 11, 2, 50, 0.01, mjINT_RK4, 0.078452, -1, 1, {200, 200},
     {{"body0", 0.035605}, {"body1", 0.035605}, {"fingertip", 0.0041888},
      {"target", 0.0030536}}},
    {"Humanoid-v4", 24, 23, 17, 14, 376, 5, 1000, 0.003, mjINT_RK4, 42.116030, -0.4, 0.4,
     {100, 100, 100, 100, 100, 300, 200, 100, 100, 300, 200, 25, 25, 25, 25, 25, 25},
     {{"torso", 8.9075}, {"lwaist", 2.2619}, {"pelvis", 6.6162}, {"right_thigh", 4.7518},
      {"left_shin", 2.7557}, {"right_foot", 1.7671}, {"left_upper_arm", 1.6611},
      {"right_lower_arm", 1.2295}}},
};
enum { NTASK = (int)(sizeof facts / sizeof facts[0]) };

static Env *make(const char *name) {
  CoreErr err;
  core_err_clear(&err);
  Env *e = env_make(name, &err);
  if (!e) fail_msg("env_make(%s): %s", name, err.msg);
  return e;
}

static const mjModel *model_of(const Env *e) { return (const mjModel *)e->vt->mj_model(e); }

static mjData *data_of(Env *e) { return (mjData *)e->vt->mj_data(e); }

/* Actions in [lo, hi] from a test stream (a fixed sequence per seed). */
static void random_action(CoreRng *rng, const Env *e, float *a) {
  for (int i = 0; i < e->act_dim; i++)
    a[i] = (float)core_rng_uniform_range(rng, e->act_low[i], e->act_high[i]);
}

/* ---------------------------------------------------------------- model facts */

static void test_model_facts(void **state) {
  (void)state;
  for (int t = 0; t < NTASK; t++) {
    const TaskFacts *f = &facts[t];
    Env *e = make(f->name);
    const mjModel *m = model_of(e);
    assert_non_null(m);
    assert_int_equal(m->nq, f->nq);
    assert_int_equal(m->nv, f->nv);
    assert_int_equal(m->nu, f->nu);
    assert_int_equal(m->nbody, f->nbody);
    assert_int_equal(e->obs_dim, f->obs);
    assert_int_equal(e->act_dim, f->nu);
    assert_int_equal(e->max_episode_steps, f->max_steps);
    assert_near(m->opt.timestep, f->timestep, 1e-15);
    assert_int_equal(m->opt.integrator, f->integrator);
    assert_near(e->dt, f->timestep * f->frame_skip, 1e-15);
    double total = 0.0;
    for (int b = 0; b < m->nbody; b++) total += m->body_mass[b];
    assert_near(total, f->total_mass, 1.5e-6);
    for (int k = 0; k < 8 && f->masses[k].body; k++) {
      int b = mj_name2id(m, mjOBJ_BODY, f->masses[k].body);
      if (b < 0) fail_msg("%s: no body %s", f->name, f->masses[k].body);
      assert_near(m->body_mass[b], f->masses[k].mass, 6e-5 * (f->masses[k].mass + 0.01));
    }
    for (int i = 0; i < m->nu; i++) {
      assert_near(e->act_low[i], f->act_lo, 1e-7);
      assert_near(e->act_high[i], f->act_hi, 1e-7);
      assert_true(m->actuator_ctrllimited[i]);
      assert_near(m->actuator_gear[6 * i], f->gear[i], 1e-12);
    }
    env_free(e);
  }
}

/* Reference poses, option settings and orders that the tables fix. */
static void test_model_details(void **state) {
  (void)state;
  Env *e = make("Hopper-v4");
  const mjModel *m = model_of(e);
  const double hop_q0[6] = {0, 1.25, 0, 0, 0, 0};
  for (int i = 0; i < 6; i++) assert_near(m->qpos0[i], hop_q0[i], 1e-15);
  assert_near(m->jnt_range[2 * 3], -150 * M_PI / 180, 1e-12);   /* degrees compiled to radians */
  assert_near(m->jnt_range[2 * 5 + 1], 45 * M_PI / 180, 1e-12);
  int foot = mj_name2id(m, mjOBJ_GEOM, "foot_geom");
  assert_near(m->geom_friction[3 * foot], 2.0, 1e-15);
  assert_near(m->geom_friction[3 * foot + 1], 0.005, 1e-15);    /* MuJoCo default kept */
  env_free(e);

  e = make("Walker2d-v4");
  m = model_of(e);
  assert_near(m->geom_friction[3 * mj_name2id(m, mjOBJ_GEOM, "foot_geom")], 0.9, 1e-15);
  assert_near(m->geom_friction[3 * mj_name2id(m, mjOBJ_GEOM, "foot_left_geom")], 1.9, 1e-15);
  assert_near(m->geom_friction[3 * mj_name2id(m, mjOBJ_GEOM, "foot_left_geom") + 1], 0.1, 1e-15);
  env_free(e);

  e = make("Ant-v4");
  m = model_of(e);
  const double ant_q0[7] = {0, 0, 0.75, 1, 0, 0, 0};
  for (int i = 0; i < 15; i++) assert_near(m->qpos0[i], i < 7 ? ant_q0[i] : 0.0, 1e-15);
  /* actuators: hip_4, ankle_4, hip_1, ankle_1, ... (not the joint order) */
  const char *ant_act[8] = {"hip_4", "ankle_4", "hip_1", "ankle_1",
                            "hip_2", "ankle_2", "hip_3", "ankle_3"};
  for (int i = 0; i < 8; i++)
    assert_int_equal(m->actuator_trnid[2 * i], mj_name2id(m, mjOBJ_JOINT, ant_act[i]));
  /* body order fixes the cfrc_ext rows */
  assert_int_equal(mj_name2id(m, mjOBJ_BODY, "aux_1"), 3);
  assert_int_equal(mj_name2id(m, mjOBJ_BODY, "right_back_leg"), 11);
  assert_near(m->body_mass[4], 0.067592, 2e-6);                 /* foot body */
  env_free(e);

  e = make("Swimmer-v4");
  m = model_of(e);
  assert_near(m->opt.density, 4000, 1e-12);
  assert_near(m->opt.viscosity, 0.1, 1e-15);
  for (int g = 0; g < m->ngeom; g++) assert_int_equal(m->geom_contype[g], 0);
  env_free(e);

  e = make("InvertedDoublePendulum-v4");
  m = model_of(e);
  assert_near(m->opt.gravity[0], 1e-5, 1e-20);
  assert_near(m->opt.gravity[2], -9.81, 1e-15);
  env_free(e);

  e = make("Reacher-v4");
  m = model_of(e);
  const double rq0[4] = {0, 0, 0.1, -0.1};
  for (int i = 0; i < 4; i++) assert_near(m->qpos0[i], rq0[i], 1e-15);
  assert_int_equal(m->jnt_limited[0], 0);
  assert_near(m->jnt_range[2 * 1 + 1], 3.0, 1e-15);             /* radians */
  env_free(e);

  e = make("Humanoid-v4");
  m = model_of(e);
  assert_int_equal(m->opt.solver, mjSOL_PGS);
  assert_int_equal(m->opt.iterations, 50);
  const double hq0[7] = {0, 0, 1.4, 1, 0, 0, 0};
  for (int i = 0; i < 24; i++) assert_near(m->qpos0[i], i < 7 ? hq0[i] : 0.0, 1e-15);
  int lk = mj_name2id(m, mjOBJ_JOINT, "left_knee"), rk = mj_name2id(m, mjOBJ_JOINT, "right_knee");
  assert_near(m->jnt_stiffness[lk], 1.0, 1e-15);                /* the real asymmetry */
  assert_near(m->jnt_stiffness[rk], 0.0, 1e-15);
  assert_near(m->jnt_range[2 * mj_name2id(m, mjOBJ_JOINT, "left_hip_y")], -110 * M_PI / 180,
              1e-12);
  env_free(e);

  e = make("HalfCheetah-v4");
  m = model_of(e);
  for (int i = 0; i < 9; i++) assert_near(m->qpos0[i], 0.0, 1e-15);
  int bthigh = mj_name2id(m, mjOBJ_JOINT, "bthigh");
  assert_near(m->jnt_stiffness[bthigh], 240, 1e-12);
  assert_near(m->dof_armature[m->jnt_dofadr[bthigh]], 0.1, 1e-15);
  assert_near(m->dof_armature[0], 0.0, 1e-15);                  /* root joints: no armature */
  env_free(e);
}

/* Section 12's open-loop rollout (400 substeps from qpos0, ctrl_a = sin(0.01 t (a+1) + a)):
 * the spec reports that Ant, Hopper, Walker2d, HalfCheetah and Humanoid touch the floor in it, and
 * that the contact-free models never collide. */
static void test_validation_rollout_contacts(void **state) {
  (void)state;
  for (int t = 0; t < NTASK; t++) {
    Env *e = make(facts[t].name);
    const mjModel *m = model_of(e);
    mjData *d = data_of(e);
    float obs[376];
    env_reset(e, 0, obs);
    double s[1 + 24 + 23] = {0};
    for (int i = 0; i < m->nq; i++) s[1 + i] = m->qpos0[i];
    assert_int_equal(e->vt->set_state(e, s, 1 + m->nq + m->nv + m->na), 0);
    int floor_id = mj_name2id(m, mjOBJ_GEOM, "floor");
    int touched = 0, any = 0;
    for (int k = 0; k < 400; k++) {
      for (int a = 0; a < m->nu; a++) d->ctrl[a] = sin(0.01 * k * (a + 1) + a);
      mj_step(m, d);
      for (int c = 0; c < d->ncon; c++) {
        any = 1;
        touched |= d->contact[c].geom1 == floor_id || d->contact[c].geom2 == floor_id;
      }
      for (int i = 0; i < m->nq; i++) assert_true(isfinite(d->qpos[i]));
    }
    const char *n = facts[t].name;
    int should = !strncmp(n, "Ant", 3) || !strcmp(n, "Hopper-v4") || !strcmp(n, "Walker2d-v4") ||
                 !strcmp(n, "HalfCheetah-v4") || !strcmp(n, "Humanoid-v4");
    if (touched != should || (!should && any))
      fail_msg("%s: floor contact %d, any contact %d in the rollout", facts[t].name, touched, any);
    env_free(e);
  }
}

/* ---------------------------------------------------------------- independent recomputation */

/* What the rewards read from before the step. */
typedef struct {
  double qpos0;      /* qpos[0] */
  double xpos[14 * 3];
  double xipos[14 * 3];
} PreState;

static void snapshot(const mjModel *m, const mjData *d, PreState *p) {
  p->qpos0 = d->qpos[0];
  memcpy(p->xpos, d->xpos, sizeof(double) * 3 * (size_t)m->nbody);
  memcpy(p->xipos, d->xipos, sizeof(double) * 3 * (size_t)m->nbody);
}

static double clipd(double x, double lim) { return x > lim ? lim : (x < -lim ? -lim : x); }

static double sumsq(const float *a, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) s += (double)a[i] * a[i];
  return s;
}

/* The observation in double, from the spec's formula for each task. */
static int expect_obs(const char *task, const mjModel *m, const mjData *d, double *o) {
  int n = 0;
  if (!strcmp(task, "HalfCheetah-v4") || !strcmp(task, "Walker2d-v4") ||
      !strcmp(task, "Hopper-v4")) {
    int clip = strcmp(task, "HalfCheetah-v4") != 0;
    for (int i = 1; i < m->nq; i++) o[n++] = d->qpos[i];
    for (int i = 0; i < m->nv; i++) o[n++] = clip ? clipd(d->qvel[i], 10) : d->qvel[i];
  } else if (!strcmp(task, "Ant-v4") || !strcmp(task, "Swimmer-v4") ||
             !strcmp(task, "AntContactForces-v4")) {
    for (int i = 2; i < m->nq; i++) o[n++] = d->qpos[i];
    for (int i = 0; i < m->nv; i++) o[n++] = d->qvel[i];
    if (!strcmp(task, "AntContactForces-v4"))
      for (int i = 0; i < 14 * 6; i++) o[n++] = clipd(d->cfrc_ext[i], 1);
  } else if (!strcmp(task, "InvertedPendulum-v4")) {
    o[n++] = d->qpos[0], o[n++] = d->qpos[1], o[n++] = d->qvel[0], o[n++] = d->qvel[1];
  } else if (!strcmp(task, "InvertedDoublePendulum-v4")) {
    o[n++] = d->qpos[0];
    o[n++] = sin(d->qpos[1]), o[n++] = sin(d->qpos[2]);
    o[n++] = cos(d->qpos[1]), o[n++] = cos(d->qpos[2]);
    for (int i = 0; i < 3; i++) o[n++] = clipd(d->qvel[i], 10);
    for (int i = 0; i < 3; i++) o[n++] = clipd(d->qfrc_constraint[i], 10);
  } else if (!strcmp(task, "Reacher-v4")) {
    int tip = mj_name2id(m, mjOBJ_BODY, "fingertip"), tgt = mj_name2id(m, mjOBJ_BODY, "target");
    o[n++] = cos(d->qpos[0]), o[n++] = cos(d->qpos[1]);
    o[n++] = sin(d->qpos[0]), o[n++] = sin(d->qpos[1]);
    o[n++] = d->qpos[2], o[n++] = d->qpos[3], o[n++] = d->qvel[0], o[n++] = d->qvel[1];
    for (int k = 0; k < 3; k++) o[n++] = d->xpos[3 * tip + k] - d->xpos[3 * tgt + k];
  } else if (!strcmp(task, "Humanoid-v4")) {
    for (int i = 2; i < 24; i++) o[n++] = d->qpos[i];
    for (int i = 0; i < 23; i++) o[n++] = d->qvel[i];
    for (int i = 0; i < 140; i++) o[n++] = d->cinert[i];
    for (int i = 0; i < 84; i++) o[n++] = d->cvel[i];
    for (int i = 0; i < 23; i++) o[n++] = d->qfrc_actuator[i];
    for (int i = 0; i < 84; i++) o[n++] = d->cfrc_ext[i];
  }
  return n;
}

/* Reward and termination from the spec's formulas, pre-step values from p. */
static double expect_reward(const char *task, const mjModel *m, const mjData *d,
                            const PreState *p, const float *a, double dt, int *term) {
  *term = 0;
  if (!strcmp(task, "HalfCheetah-v4")) return (d->qpos[0] - p->qpos0) / dt - 0.1 * sumsq(a, 6);
  if (!strcmp(task, "Swimmer-v4")) return (d->qpos[0] - p->qpos0) / dt - 1e-4 * sumsq(a, 2);
  if (!strcmp(task, "Hopper-v4")) {
    int ok = d->qpos[1] > 0.7 && fabs(d->qpos[2]) < 0.2;
    for (int i = 2; i < 6; i++) ok = ok && fabs(d->qpos[i]) < 100;
    for (int i = 0; i < 6; i++) ok = ok && fabs(d->qvel[i]) < 100;
    *term = !ok;
    return (d->qpos[0] - p->qpos0) / dt + 1.0 - 1e-3 * sumsq(a, 3);
  }
  if (!strcmp(task, "Walker2d-v4")) {
    *term = !(d->qpos[1] > 0.8 && d->qpos[1] < 2.0 && fabs(d->qpos[2]) < 1.0);
    return (d->qpos[0] - p->qpos0) / dt + 1.0 - 1e-3 * sumsq(a, 6);
  }
  if (!strcmp(task, "Ant-v4") || !strcmp(task, "AntContactForces-v4")) {
    int torso = mj_name2id(m, mjOBJ_BODY, "torso");
    *term = !(d->qpos[2] >= 0.2 && d->qpos[2] <= 1.0);
    double contact = 0;
    if (!strcmp(task, "AntContactForces-v4"))
      for (int i = 0; i < 14 * 6; i++) contact += clipd(d->cfrc_ext[i], 1) * clipd(d->cfrc_ext[i], 1);
    return (d->xpos[3 * torso] - p->xpos[3 * torso]) / dt + 1.0 - 0.5 * sumsq(a, 8) -
           5e-4 * contact;
  }
  if (!strcmp(task, "InvertedPendulum-v4")) {
    *term = fabs(d->qpos[1]) > 0.2;
    return 1.0;
  }
  if (!strcmp(task, "InvertedDoublePendulum-v4")) {
    const double *tip = d->site_xpos + 3 * mj_name2id(m, mjOBJ_SITE, "tip");
    *term = tip[2] <= 1.0;
    return 10.0 - (0.01 * tip[0] * tip[0] + (tip[2] - 2) * (tip[2] - 2)) -
           (1e-3 * d->qvel[1] * d->qvel[1] + 5e-3 * d->qvel[2] * d->qvel[2]);
  }
  if (!strcmp(task, "Reacher-v4")) {
    int tip = mj_name2id(m, mjOBJ_BODY, "fingertip"), tgt = mj_name2id(m, mjOBJ_BODY, "target");
    double s = 0;
    for (int k = 0; k < 3; k++) {
      double v = p->xpos[3 * tip + k] - p->xpos[3 * tgt + k];
      s += v * v;
    }
    return -sqrt(s) - sumsq(a, 2);
  }
  if (!strcmp(task, "Humanoid-v4")) {
    double mb = 0, xb = 0, xa = 0, c = 0;
    for (int b = 0; b < m->nbody; b++) {
      mb += m->body_mass[b];
      xb += m->body_mass[b] * p->xipos[3 * b];
      xa += m->body_mass[b] * d->xipos[3 * b];
    }
    for (int i = 0; i < m->nu; i++) c += d->ctrl[i] * d->ctrl[i];
    *term = !(d->qpos[2] > 1.0 && d->qpos[2] < 2.0);
    return 1.25 * (xa / mb - xb / mb) / dt + 5.0 - 0.1 * c;
  }
  fail_msg("no reference formula for %s", task);
  return 0;
}

/* Every step's reward, termination and observation equal the spec's formulas evaluated on the
 * raw MuJoCo state; the raw action lands in d->ctrl unclipped. */
static void test_reward_obs_recomputed(void **state) {
  (void)state;
  for (int t = 0; t < NTASK; t++) {
    const char *name = facts[t].name;
    Env *e = make(name);
    const mjModel *m = model_of(e);
    mjData *d = data_of(e);
    float obs[376], a[17];
    double want[376];
    CoreRng rng;
    core_rng_stream(&rng, 11, CORE_RNG_TEST, (uint64_t)t);
    env_reset(e, 3, obs);
    int n = expect_obs(name, m, d, want);
    assert_int_equal(n, e->obs_dim);
    for (int i = 0; i < n; i++) assert_true(obs[i] == (float)want[i]);
    int steps = 0, contact_seen = 0;
    for (int k = 0; k < 60; k++) {
      random_action(&rng, e, a);
      if (k == 5) a[0] = 1.5f * e->act_high[0];   /* outside the box: cost on the raw value */
      PreState p;
      snapshot(m, d, &p);
      EnvStep st;
      env_step(e, a, obs, &st);
      steps++;
      assert_int_equal(st.status, ENV_OK);
      for (int i = 0; i < m->nu; i++) assert_true(d->ctrl[i] == (double)a[i]);
      int term;
      double r = expect_reward(name, m, d, &p, a, e->dt, &term);
      assert_near(st.reward, r, 1e-9 * (1 + fabs(r)));
      assert_int_equal(st.terminated, term);
      expect_obs(name, m, d, want);
      for (int i = 0; i < n; i++)
        if (obs[i] != (float)want[i])
          fail_msg("%s step %d obs[%d] %g != %g", name, k, i, obs[i], want[i]);
      for (int i = 27; i < n && !strcmp(name, "AntContactForces-v4"); i++)
        contact_seen |= obs[i] != 0.0f;
      if (st.terminated || st.truncated) env_reset(e, 100 + (uint64_t)k, obs);
    }
    assert_int_equal(steps, 60);
    /* the contact part of the observation is live (feet on the floor), not zeros */
    if (!strcmp(name, "AntContactForces-v4")) assert_true(contact_seen);
    env_free(e);
  }
}

/* No mj_forward after the substeps: with Euler, HalfCheetah's d->xpos still holds the pose from
 * before the last substep (qpos - timestep * qvel), which is what v4 rewards read (spec §0). */
static void test_stale_cartesian(void **state) {
  (void)state;
  Env *e = make("HalfCheetah-v4");
  const mjModel *m = model_of(e);
  mjData *d = data_of(e);
  int torso = mj_name2id(m, mjOBJ_BODY, "torso");
  float obs[17], act[6] = {0.5f, -0.5f, 0.5f, -0.5f, 0.5f, -0.5f};
  EnvStep st;
  env_reset(e, 1, obs);
  for (int k = 0; k < 3; k++) {
    env_step(e, act, obs, &st);
    double x_prev_substep = d->qpos[0] - m->opt.timestep * d->qvel[0];
    assert_true(fabs(d->xpos[3 * torso] - d->qpos[0]) > 1e-9);
    assert_near(d->xpos[3 * torso], x_prev_substep, 1e-12);
  }
  /* cfrc_ext is filled (mj_rnePostConstraint ran): the cheetah touches the floor by then */
  for (int k = 0; k < 20; k++) env_step(e, act, obs, &st);
  double f = 0;
  for (int i = 0; i < 6 * m->nbody; i++) f += fabs(d->cfrc_ext[i]);
  assert_true(d->ncon > 0);
  assert_true(f > 0);
  env_free(e);
}

/* ---------------------------------------------------------------- determinism and reset */

static void test_same_seed_same_trajectory(void **state) {
  (void)state;
  for (int t = 0; t < NTASK; t++) {
    Env *a = make(facts[t].name), *b = make(facts[t].name);
    /* the model is compiled once and shared */
    assert_ptr_equal(model_of(a), model_of(b));
    assert_ptr_not_equal(data_of(a), data_of(b));
    float oa[376], ob[376], act[17];
    env_reset(a, 42, oa);
    env_reset(b, 42, ob);
    assert_memory_equal(oa, ob, sizeof(float) * (size_t)a->obs_dim);
    CoreRng rng;
    core_rng_stream(&rng, 5, CORE_RNG_TEST, (uint64_t)t);
    for (int k = 0; k < 40; k++) {
      random_action(&rng, a, act);
      EnvStep sa, sb;
      env_step(a, act, oa, &sa);
      env_step(b, act, ob, &sb);
      assert_memory_equal(oa, ob, sizeof(float) * (size_t)a->obs_dim);
      assert_true(sa.reward == sb.reward);
      assert_int_equal(sa.terminated, sb.terminated);
      if (sa.terminated || sa.truncated) {
        env_reset(a, 43 + (uint64_t)k, oa);
        env_reset(b, 43 + (uint64_t)k, ob);
      }
    }
    /* another seed starts elsewhere */
    env_reset(b, 7, ob);
    env_reset(a, 42, oa);
    assert_true(memcmp(oa, ob, sizeof(float) * (size_t)a->obs_dim) != 0);
    env_free(a);
    env_free(b);
  }
}

/* Reset noise: range and distribution per task; Reacher's goal; Ant's quaternion unnormalised. */
static void test_reset_noise(void **state) {
  (void)state;
  float obs[376];
  /* Hopper: qpos0 + U(-5e-3, 5e-3), qvel U(-5e-3, 5e-3) */
  Env *e = make("Hopper-v4");
  const mjModel *m = model_of(e);
  mjData *d = data_of(e);
  double maxdev = 0;
  for (uint64_t s = 0; s < 50; s++) {
    env_reset(e, s, obs);
    for (int i = 0; i < 6; i++) {
      assert_true(fabs(d->qpos[i] - m->qpos0[i]) <= 5e-3);
      assert_true(fabs(d->qvel[i]) <= 5e-3);
      if (fabs(d->qpos[i] - m->qpos0[i]) > maxdev) maxdev = fabs(d->qpos[i] - m->qpos0[i]);
    }
    assert_near(d->time, 0.0, 0.0);
  }
  assert_true(maxdev > 4e-3);
  env_free(e);

  /* HalfCheetah: qvel = 0.1 N(0,1): sample std near 0.1 and unbounded by 0.1 */
  e = make("HalfCheetah-v4");
  d = data_of(e);
  double s1 = 0, s2 = 0, big = 0;
  int cnt = 0;
  for (uint64_t s = 0; s < 200; s++) {
    env_reset(e, s, obs);
    for (int i = 0; i < 9; i++) {
      s1 += d->qvel[i], s2 += d->qvel[i] * d->qvel[i], cnt++;
      if (fabs(d->qvel[i]) > big) big = fabs(d->qvel[i]);
      assert_true(fabs(d->qpos[i]) <= 0.1);
    }
  }
  double sd = sqrt(s2 / cnt - (s1 / cnt) * (s1 / cnt));
  assert_near(sd, 0.1, 0.008);
  assert_true(big > 0.2);
  env_free(e);

  /* Ant: the free-joint quaternion gets noise on all four entries. The env does not renormalise
   * it, but 2.2.2's mj_kinematics (inside the reset's mj_forward) normalises qpos quaternions in
   * place, as it does under Gymnasium's set_state: a unit quaternion off (1,0,0,0) results. */
  e = make("Ant-v4");
  d = data_of(e);
  env_reset(e, 1, obs);
  double qn = 0;
  for (int i = 3; i < 7; i++) qn += d->qpos[i] * d->qpos[i];
  assert_near(sqrt(qn), 1.0, 1e-12);
  for (int i = 4; i < 7; i++) assert_true(d->qpos[i] != 0.0);
  assert_true(fabs(d->qpos[2] - 0.75) <= 0.1);
  assert_true(obs[0] == (float)d->qpos[2]);
  env_free(e);

  /* Reacher: goal inside the 0.2 disc, the target body sits on it, target velocity zero */
  e = make("Reacher-v4");
  m = model_of(e);
  d = data_of(e);
  int tgt = mj_name2id(m, mjOBJ_BODY, "target");
  for (uint64_t s = 0; s < 100; s++) {
    env_reset(e, s, obs);
    assert_true(hypot(d->qpos[2], d->qpos[3]) < 0.2);
    assert_near(d->xpos[3 * tgt], d->qpos[2], 1e-12);
    assert_near(d->xpos[3 * tgt + 1], d->qpos[3], 1e-12);
    assert_true(d->qvel[2] == 0.0 && d->qvel[3] == 0.0);
    assert_true(fabs(d->qvel[0]) <= 0.005 && fabs(d->qvel[1]) <= 0.005);
    assert_true(fabs(d->qpos[0]) <= 0.1 && fabs(d->qpos[1]) <= 0.1);
    assert_true(obs[10] == 0.0f); /* fingertip and target share z */
  }
  env_free(e);
}

/* ---------------------------------------------------------------- termination thresholds */

static void test_health_predicates(void **state) {
  (void)state;
  const double eps = 1e-12;
  double q[24] = {0}, v[23] = {0};
  /* Hopper: z > 0.7 (open), |angle| < 0.2 (open), state[2:] in (-100, 100) */
  q[1] = 1.25;
  assert_true(env_hopper_is_healthy(q, v));
  q[1] = 0.7;
  assert_false(env_hopper_is_healthy(q, v));
  q[1] = 0.7 + eps;
  assert_true(env_hopper_is_healthy(q, v));
  q[2] = 0.2;
  assert_false(env_hopper_is_healthy(q, v));
  q[2] = -0.2 + eps;
  assert_true(env_hopper_is_healthy(q, v));
  q[2] = 0;
  q[5] = 100;
  assert_false(env_hopper_is_healthy(q, v));
  q[5] = 99.9;
  assert_true(env_hopper_is_healthy(q, v));
  v[0] = -100;                      /* qvel[0] is part of state[2:] */
  assert_false(env_hopper_is_healthy(q, v));
  v[0] = 0;
  v[5] = NAN;
  assert_false(env_hopper_is_healthy(q, v));
  v[5] = 0;
  q[0] = 1e6;                       /* x is outside state[2:] */
  assert_true(env_hopper_is_healthy(q, v));
  q[1] = INFINITY;
  assert_false(env_hopper_is_healthy(q, v));

  /* Walker2d: 0.8 < z < 2, -1 < angle < 1; no state range */
  memset(q, 0, sizeof q);
  q[1] = 1.25;
  q[5] = 1e3;
  assert_true(env_walker2d_is_healthy(q));
  q[1] = 0.8;
  assert_false(env_walker2d_is_healthy(q));
  q[1] = 2.0;
  assert_false(env_walker2d_is_healthy(q));
  q[1] = 2.0 - eps;
  assert_true(env_walker2d_is_healthy(q));
  q[2] = 1.0;
  assert_false(env_walker2d_is_healthy(q));
  q[2] = -1.0 + eps;
  assert_true(env_walker2d_is_healthy(q));

  /* Ant: closed interval 0.2 <= z <= 1, everything finite */
  memset(q, 0, sizeof q);
  memset(v, 0, sizeof v);
  q[2] = 0.2;
  assert_true(env_ant_is_healthy(q, v));
  q[2] = 1.0;
  assert_true(env_ant_is_healthy(q, v));
  q[2] = 1.0 + eps;
  assert_false(env_ant_is_healthy(q, v));
  q[2] = 0.2 - eps;
  assert_false(env_ant_is_healthy(q, v));
  q[2] = 0.5;
  v[13] = INFINITY;
  assert_false(env_ant_is_healthy(q, v));
  v[13] = 0;
  q[14] = NAN;
  assert_false(env_ant_is_healthy(q, v));

  /* Humanoid: 1 < z < 2 */
  memset(q, 0, sizeof q);
  q[2] = 1.0;
  assert_false(env_humanoid_is_healthy(q));
  q[2] = 1.0 + eps;
  assert_true(env_humanoid_is_healthy(q));
  q[2] = 2.0;
  assert_false(env_humanoid_is_healthy(q));

  /* InvertedPendulum: |angle| > 0.2 or non-finite ends it */
  memset(q, 0, sizeof q);
  q[1] = 0.2;
  assert_false(env_inverted_pendulum_is_terminated(q, v));
  q[1] = -0.2 - eps;
  assert_true(env_inverted_pendulum_is_terminated(q, v));
  q[1] = 0;
  v[1] = NAN;
  assert_true(env_inverted_pendulum_is_terminated(q, v));

  /* InvertedDoublePendulum: z_tip <= 1 */
  assert_true(env_inverted_double_pendulum_is_terminated(1.0));
  assert_false(env_inverted_double_pendulum_is_terminated(1.0 + eps));
}

/* Set a state through set_state and step with zero action: healthy vs. fallen, and the alive
 * bonus on the terminal step (v4). */
static void test_termination_through_step(void **state) {
  (void)state;
  Env *e = make("Hopper-v4");
  const mjModel *m = model_of(e);
  mjData *d = data_of(e);
  float obs[11], zero[3] = {0, 0, 0};
  int n = e->vt->get_state(e, NULL, 0);
  double *s = core_malloc(sizeof(double) * (size_t)n);
  int brief = 1 + m->nq + m->nv + m->na;
  EnvStep st;

  /* upright, at rest: healthy */
  env_reset(e, 0, obs);
  memset(s, 0, sizeof(double) * (size_t)brief);
  s[1 + 1] = 1.25;
  assert_int_equal(e->vt->set_state(e, s, brief), 0);
  env_step(e, zero, obs, &st);
  assert_int_equal(st.terminated, 0);
  assert_int_equal(st.truncated, 0);
  assert_near(st.reward, 1.0 + (d->qpos[0] - 0.0) / e->dt, 1e-9);

  /* torso tilted past 0.2 rad: terminated on the first step, bonus still paid */
  env_reset(e, 0, obs);
  s[1 + 1] = 1.25;
  s[1 + 2] = 0.25;
  assert_int_equal(e->vt->set_state(e, s, brief), 0);
  env_step(e, zero, obs, &st);
  assert_int_equal(st.terminated, 1);
  assert_int_equal(st.truncated, 0);
  assert_near(st.reward, 1.0 + d->qpos[0] / e->dt, 1e-9);
  assert_true(d->qpos[2] > 0.2);
  core_free(s);
  env_free(e);

  /* InvertedPendulum: pole at 0.3 rad is terminal, reward still 1 */
  e = make("InvertedPendulum-v4");
  float o4[4], z1[1] = {0};
  env_reset(e, 0, o4);
  double ps[1 + 2 + 2] = {0, 0, 0.3, 0, 0};
  assert_int_equal(e->vt->set_state(e, ps, 5), 0);
  env_step(e, z1, o4, &st);
  assert_int_equal(st.terminated, 1);
  assert_near(st.reward, 1.0, 0);
  env_free(e);

  /* Walker2d below 0.8 m */
  e = make("Walker2d-v4");
  float o17[17], z6[6] = {0};
  env_reset(e, 0, o17);
  double ws[1 + 9 + 9] = {0};
  ws[1 + 1] = 0.5;
  assert_int_equal(e->vt->set_state(e, ws, 19), 0);
  env_step(e, z6, o17, &st);
  assert_int_equal(st.terminated, 1);
  env_free(e);
}

/* ---------------------------------------------------------------- truncation */

static void run_to_limit(const char *name, int limit) {
  Env *e = make(name);
  float obs[376], act[17] = {0};
  env_reset(e, 9, obs);
  EnvStep st;
  for (int k = 1; k <= limit; k++) {
    env_step(e, act, obs, &st);
    assert_int_equal(st.status, ENV_OK);
    assert_int_equal(st.terminated, 0);
    if (st.truncated != (k == limit))
      fail_msg("%s: truncated=%d at step %d", name, st.truncated, k);
  }
  assert_int_equal(e->elapsed_steps, limit);
  env_free(e);
}

static void test_truncation(void **state) {
  (void)state;
  run_to_limit("HalfCheetah-v4", 1000);
  run_to_limit("Swimmer-v4", 1000);
  run_to_limit("Reacher-v4", 50);
}

/* ---------------------------------------------------------------- divergence */

static void test_divergence(void **state) {
  (void)state;
  const char *names[2] = {"HalfCheetah-v4", "Hopper-v4"};
  for (int t = 0; t < 2; t++) {
    Env *e = make(names[t]);
    const mjModel *m = model_of(e);
    mjData *d = data_of(e);
    float obs[17], prev[17], act[6] = {0};
    double want[17];
    env_reset(e, 1, obs);
    EnvStep st;
    env_step(e, act, obs, &st);
    /* a state whose velocities make qacc blow up: MuJoCo 2.2.2 resets the data mid-step */
    int n = e->vt->get_state(e, NULL, 0);
    double *s = core_malloc(sizeof(double) * (size_t)n);
    assert_int_equal(e->vt->get_state(e, s, n), n);
    for (int i = 0; i < m->nv; i++) s[1 + m->nq + i] = 1e9;
    assert_int_equal(e->vt->set_state(e, s, n), 0);
    /* the observation of the state the step started from is what a cut step returns */
    expect_obs(names[t], m, d, want);
    for (int i = 0; i < e->obs_dim; i++) prev[i] = (float)want[i];
    env_step(e, act, obs, &st);
    assert_int_equal(st.status, ENV_ERR_DIVERGED);
    assert_int_equal(st.truncated, 1);
    assert_int_equal(st.terminated, 0);
    assert_near(st.reward, 0.0, 0);
    assert_memory_equal(obs, prev, sizeof(float) * (size_t)e->obs_dim);  /* not the reset pose */
    assert_true(d->warning[mjWARN_BADQACC].number + d->warning[mjWARN_BADQVEL].number > 0);
    assert_int_equal(((EnvMj *)e)->n_diverged, 1);
    /* a second divergence on the same data, without a reset in between (the raw vtable, as a
     * bench or a custom loop may call it): still seen, although MuJoCo's counter is 1 again */
    for (int i = 0; i < m->nv; i++) d->qvel[i] = 1e9;
    EnvStep raw = {0};
    e->vt->step(e, act, obs, &raw);
    assert_int_equal(raw.status, ENV_ERR_DIVERGED);
    assert_int_equal(((EnvMj *)e)->n_diverged, 2);
    /* a reset recovers completely: same start as a fresh instance */
    Env *f = make(names[t]);
    float o2[17];
    env_reset(e, 5, obs);
    env_reset(f, 5, o2);
    assert_memory_equal(obs, o2, sizeof(float) * (size_t)e->obs_dim);
    for (int k = 0; k < 5; k++) {
      env_step(e, act, obs, &st);
      EnvStep st2;
      env_step(f, act, o2, &st2);
      assert_int_equal(st.status, ENV_OK);
      assert_memory_equal(obs, o2, sizeof(float) * (size_t)e->obs_dim);
    }
    core_free(s);
    env_free(e);
    env_free(f);
  }
}

/* Non-finite action: the cost is not finite, so the step is cut as NONFINITE; an oversized but
 * finite action is clamped by MuJoCo and only costs. */
static void test_nonfinite_action(void **state) {
  (void)state;
  Env *e = make("HalfCheetah-v4");
  float obs[17], prev[17], act[6] = {0};
  EnvStep st;
  env_reset(e, 2, obs);
  memcpy(prev, obs, sizeof prev);
  act[2] = NAN;
  env_step(e, act, obs, &st);
  assert_int_equal(st.status, ENV_ERR_NONFINITE);
  assert_int_equal(st.truncated, 1);
  assert_memory_equal(obs, prev, sizeof prev);
  env_reset(e, 2, obs);
  act[2] = 1e18f;                     /* huge but finite: clamped to 1 by MuJoCo */
  env_step(e, act, obs, &st);
  assert_int_equal(st.status, ENV_OK);
  assert_near(st.reward / 1e35, -0.1 * 1e36 / 1e35, 1e-3);
  env_free(e);
}

/* ---------------------------------------------------------------- state save/restore */

static void test_state_roundtrip(void **state) {
  (void)state;
  const char *names[4] = {"HalfCheetah-v4", "Ant-v4", "Reacher-v4", "Humanoid-v4"};
  for (int t = 0; t < 4; t++) {
    Env *e = make(names[t]), *f = make(names[t]);
    int n = e->vt->get_state(e, NULL, 0);
    double *s = core_malloc(sizeof(double) * (size_t)n);
    float obs[376], o2[376], act[17];
    double rew[10];
    float trail[10][376];
    CoreRng rng;
    core_rng_stream(&rng, 3, CORE_RNG_TEST, (uint64_t)t);
    env_reset(e, 4, obs);
    EnvStep st;
    for (int k = 0; k < 8; k++) {
      random_action(&rng, e, act);
      env_step(e, act, obs, &st);
    }
    assert_int_equal(e->vt->get_state(e, s, n), n);
    CoreRng saved = rng;
    for (int k = 0; k < 10; k++) {
      random_action(&rng, e, act);
      env_step(e, act, trail[k], &st);
      rew[k] = st.reward;
    }
    /* restore into a fresh instance: bit-identical continuation, rewards included */
    env_reset(f, 99, o2);
    assert_int_equal(f->vt->set_state(f, s, n), 0);
    rng = saved;
    for (int k = 0; k < 10; k++) {
      random_action(&rng, f, act);
      env_step(f, act, o2, &st);
      assert_memory_equal(o2, trail[k], sizeof(float) * (size_t)f->obs_dim);
      assert_true(st.reward == rew[k]);
    }
    /* wrong length and non-finite values are refused */
    assert_true(f->vt->set_state(f, s, n - 1) < 0);
    s[1] = NAN;
    assert_true(f->vt->set_state(f, s, n) < 0);
    core_free(s);
    env_free(e);
    env_free(f);
  }
}

/* ---------------------------------------------------------------- threads */

typedef struct {
  const char *name;
  uint64_t seed;
  double ret;
  float last[376];
} RolloutJob;

static void *rollout_thread(void *arg) {
  RolloutJob *j = arg;
  CoreErr err;
  Env *e = env_make(j->name, &err);
  if (!e) return NULL;
  CoreRng rng;
  core_rng_stream(&rng, j->seed, CORE_RNG_TEST, 0);
  float act[17];
  EnvStep st;
  env_reset(e, j->seed, j->last);
  j->ret = 0;
  for (int k = 0; k < 150; k++) {
    random_action(&rng, e, act);
    env_step(e, act, j->last, &st);
    j->ret += st.reward;
    if (st.terminated || st.truncated) env_reset(e, j->seed + (uint64_t)k, j->last);
  }
  env_free(e);
  return NULL;
}

/* Instances on threads share the model and give the same numbers as on one thread. */
static void test_threads(void **state) {
  (void)state;
  const char *names[4] = {"HalfCheetah-v4", "Hopper-v4", "Ant-v4", "HalfCheetah-v4"};
  RolloutJob par[4], seq[4];
  pthread_t th[4];
  for (int i = 0; i < 4; i++) {
    par[i] = (RolloutJob){.name = names[i], .seed = 10 + (uint64_t)i};
    seq[i] = par[i];
    assert_int_equal(pthread_create(&th[i], NULL, rollout_thread, &par[i]), 0);
  }
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < 4; i++) {
    rollout_thread(&seq[i]);
    assert_true(par[i].ret == seq[i].ret);
    assert_memory_equal(par[i].last, seq[i].last, sizeof(float) * 17);
  }
}

/* ---------------------------------------------------------------- model files */

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

/* A broken or mismatched model file gives a clear error naming it, without hanging and without
 * MuJoCo's MUJOCO_LOG.TXT in the working directory. */
static void test_bad_model_file(void **state) {
  (void)state;
  char dir[256], path[512], cwd[4096];
  assert_non_null(test_make_tmpdir(dir, sizeof dir, "mjbad"));
  assert_non_null(getcwd(cwd, sizeof cwd));
  assert_int_equal(chdir(dir), 0);
  setenv("CEMRL_MODEL_DIR", dir, 1);

  snprintf(path, sizeof path, "%s/half_cheetah.xml", dir);
  write_file(path, "<mujoco model=\"broken\">\n  <worldbody>\n    <body name=\"torso\">\n"
                   "      <joint type=\"hinge\" range=\"-1 1\"/>\n");
  CoreErr err;
  core_err_clear(&err);
  Env *e = env_make("HalfCheetah-v4", &err);
  assert_null(e);
  assert_int_equal(err.code, CORE_ERR_PARSE);
  assert_contains(err.msg, path);
  assert_contains(err.msg, "HalfCheetah-v4");

  /* a range without limited: 2.2.2 rejects it, and the message says why */
  write_file(path, "<mujoco><worldbody><body><joint type=\"hinge\" range=\"-1 1\"/>"
                   "<geom size=\"0.1\"/></body></worldbody></mujoco>\n");
  core_err_clear(&err);
  assert_null(env_make("HalfCheetah-v4", &err));
  assert_contains(err.msg, "half_cheetah.xml");
  assert_contains(err.msg, "limited");

  /* a valid model of the wrong task */
  write_file(path, "<mujoco><worldbody><body><joint type=\"slide\"/><geom size=\"0.1\"/>"
                   "</body></worldbody></mujoco>\n");
  core_err_clear(&err);
  assert_null(env_make("HalfCheetah-v4", &err));
  assert_int_equal(err.code, CORE_ERR_INVALID);
  assert_contains(err.msg, "nq 1");

  /* a missing file */
  core_err_clear(&err);
  assert_null(env_make("Hopper-v4", &err));
  assert_int_equal(err.code, CORE_ERR_NOTFOUND);
  assert_contains(err.msg, "hopper.xml");

  struct stat st;
  assert_int_not_equal(stat("MUJOCO_LOG.TXT", &st), 0);
  unlink(path);
  assert_int_equal(chdir(cwd), 0);
  assert_int_equal(rmdir(dir), 0);
  unsetenv("CEMRL_MODEL_DIR");

  /* the real model still loads afterwards */
  e = make("HalfCheetah-v4");
  env_free(e);
}

/* The cache drops unused models on cleanup and keeps models in use. */
static void test_cache_cleanup(void **state) {
  (void)state;
  env_mujoco_cleanup();
  int before = env_mujoco_cached_models();   /* models still in use elsewhere (none if all pass) */
  Env *e = make("Swimmer-v4");
  Env *f = make("Swimmer-v4");
  assert_int_equal(env_mujoco_cached_models(), before + 1);   /* compiled once for both */
  env_free(f);
  env_mujoco_cleanup();
  assert_int_equal(env_mujoco_cached_models(), before + 1);   /* in use: kept */
  env_free(e);
  env_mujoco_cleanup();
  assert_int_equal(env_mujoco_cached_models(), before);
}

static int teardown_all(void **state) {
  (void)state;
  env_mujoco_cleanup();
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_model_facts),
      cmocka_unit_test(test_model_details),
      cmocka_unit_test(test_validation_rollout_contacts),
      cmocka_unit_test(test_reward_obs_recomputed),
      cmocka_unit_test(test_stale_cartesian),
      cmocka_unit_test(test_same_seed_same_trajectory),
      cmocka_unit_test(test_reset_noise),
      cmocka_unit_test(test_health_predicates),
      cmocka_unit_test(test_termination_through_step),
      cmocka_unit_test(test_truncation),
      cmocka_unit_test(test_divergence),
      cmocka_unit_test(test_nonfinite_action),
      cmocka_unit_test(test_state_roundtrip),
      cmocka_unit_test(test_threads),
      cmocka_unit_test(test_bad_model_file),
      cmocka_unit_test(test_cache_cleanup),
  };
  return cmocka_run_group_tests(tests, NULL, teardown_all);
}
