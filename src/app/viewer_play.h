/* viewer_play.h — the rollout that `cemrl render` shows and `cemrl record` films.
 *
 * A player owns one MuJoCo environment and its policy: a saved network (a run directory or a
 * policy file), or the zero or random action. Episode i resets with
 * core_rng_derive(seed, CORE_RNG_EVAL, i), as `cemrl eval` does, so with the same seed the
 * episodes shown are the episodes evaluated. Actions of a network are clipped to the bounds
 * (as in evaluation). Nothing here touches GL: the caller renders the player's mjData.
 */
#ifndef CEMRL_APP_VIEWER_PLAY_H
#define CEMRL_APP_VIEWER_PLAY_H

#include <stdint.h>

#include <mujoco/mujoco.h>

#include "core/err.h"
#include "core/rng.h"
#include "envs/env.h"
#include "nets/mlp.h"

typedef enum { VIEWER_POLICY_NET = 0, VIEWER_POLICY_ZERO, VIEWER_POLICY_RANDOM } ViewerPolicyKind;

/* What to play; strings are borrowed for viewer_play_open only. */
typedef struct {
  const char *target;      /* run directory or policy file; NULL to play `policy` */
  const char *env_name;    /* required without a target; with one, overrides its env (same dims) */
  const char *policy;      /* without a target: "zero" or "random" (NULL = zero) */
  uint64_t seed;           /* evaluation seed of episode 0 (cemrl eval's default is 100) */
  const double *qpos;      /* (n_qpos) a pose every episode starts from (qvel 0), or NULL */
  int n_qpos;
} ViewerPlayOpts;

/* A playing rollout (fields read-only outside viewer_play.c). */
typedef struct {
  Env *env;                /* owned; a MuJoCo task */
  NnMlp *net;              /* owned; NULL for the zero / random policies */
  int kind;                /* ViewerPolicyKind */
  const mjModel *m;        /* borrowed from env */
  mjData *d;               /* borrowed from env */
  CoreRng rng;             /* the random policy's stream */
  uint64_t seed;
  int episode;             /* index of the current episode, from 0 */
  int step;                /* steps taken in this episode */
  double reward;           /* reward of the last step (0 after a reset) */
  double ret;              /* return of this episode so far */
  int done;                /* the episode ended (terminated, time limit or cut) */
  int terminated;          /* the task ended it (as opposed to the time limit) */
  float *obs;              /* (obs_dim) */
  float *act;              /* (act_dim) */
  double *start;           /* (n_start) short state [time, qpos, qvel, act] from opts.qpos, or NULL */
  int n_start;
  char policy_label[160];  /* "results/x/policy.ckpt" or "random actions" (for overlays) */
} ViewerPlay;

/* Open a player: load the policy, make its env (which must be a MuJoCo task) and reset episode 0.
 * On failure returns a negative code with err filled and leaves nothing allocated. */
int viewer_play_open(ViewerPlay *p, const ViewerPlayOpts *o, CoreErr *err);

/* Restart the current episode from its reset seed (and the start pose, if any). */
void viewer_play_reset(ViewerPlay *p);

/* Go on to the next episode (index + 1) and reset it. */
void viewer_play_next_episode(ViewerPlay *p);

/* Take one step of the policy; returns 1 if the episode ended with it (then p->done is set and
 * further steps are not allowed until a reset). */
int viewer_play_step(ViewerPlay *p);

/* Release everything the player owns (safe on a zeroed or closed player). */
void viewer_play_close(ViewerPlay *p);

/* Parse a comma-separated list of numbers ("0,1.25,0") into a new core_malloc'd array; the
 * caller core_frees *out. CORE_ERR_INVALID naming the flag and the bad item. */
int viewer_parse_numbers(const char *flag, const char *s, double **out, int *n, CoreErr *err);

#endif
