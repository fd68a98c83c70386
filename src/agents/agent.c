/* agent.c — method dispatch, shared network shapes, common counters in checkpoints. */
#include "agents/agent.h"

#include <math.h>

const char *const agent_method_names[] = {"cemtd3", "cemddpg", "td3", "ddpg", "cem",
                                          "supervised", NULL};
const char *const sup_act_names[] = {"relu", "tanh", "identity", NULL};
const char *const sup_init_names[] = {"torch", "xavier", "he", "gaussian", NULL};
const char *const agent_activation_names[] = {"tanh", "relu", "leaky_relu", NULL};
const char *const td3_train_freq_names[] = {"episode", "step", NULL};
const char *const agent_noise_names[] = {"gauss", "ou", NULL};

static int act_kind(int a) {
  switch (a) {
    case AGENT_ACT_RELU: return NN_RELU;
    case AGENT_ACT_LEAKY_RELU: return NN_LEAKY_RELU;
    default: return NN_TANH;
  }
}

int agent_actor_layers(const NetSettings *ns, int act_dim, const float *act_high,
                       NnLayerDesc *layers) {
  int n = 0;
  const int hidden[2] = {ns->hidden1, ns->hidden2};
  for (int h = 0; h < 2; h++) {
    layers[n++] = (NnLayerDesc){.kind = NN_LINEAR, .out = hidden[h]};
    if (ns->layer_norm) layers[n++] = (NnLayerDesc){.kind = NN_LAYER_NORM};
    layers[n++] = (NnLayerDesc){.kind = act_kind(ns->actor_act), .alpha = NN_LEAKY_RELU_SLOPE};
  }
  layers[n++] = (NnLayerDesc){.kind = NN_LINEAR, .out = act_dim};
  layers[n++] = (NnLayerDesc){.kind = NN_TANH};
  /* tanh x max_action, per action dimension (the env's upper bounds) */
  layers[n++] = (NnLayerDesc){.kind = NN_SCALE, .alpha = 1.0f, .scale = act_high};
  return n;
}

int agent_critic_layers(const NetSettings *ns, NnLayerDesc *layers) {
  int n = 0;
  const int hidden[2] = {ns->hidden1, ns->hidden2};
  for (int h = 0; h < 2; h++) {
    layers[n++] = (NnLayerDesc){.kind = NN_LINEAR, .out = hidden[h]};
    layers[n++] = (NnLayerDesc){.kind = act_kind(ns->critic_act), .alpha = NN_LEAKY_RELU_SLOPE};
  }
  layers[n++] = (NnLayerDesc){.kind = NN_LINEAR, .out = 1};
  return n;
}

Agent *agent_create(const AgentSettings *s, CoreErr *err) {
  switch (s->method) {
    case AGENT_TD3:
    case AGENT_DDPG: return td3_agent_create(s, err);
    case AGENT_CEMTD3:
    case AGENT_CEMDDPG:
    case AGENT_CEM: return cemrl_agent_create(s, err);
    case AGENT_SUPERVISED: return sup_agent_create(s, err);
    default:
      core_err_set(err, CORE_ERR_INVALID, "method: unknown method index %d", s->method);
      return NULL;
  }
}

int agent_method_has_population(int method) {
  return method == AGENT_CEM || method == AGENT_CEMTD3 || method == AGENT_CEMDDPG;
}

int agent_serve(const AgentSettings *s, CoreErr *err) {
  if (!agent_method_has_population(s->method))
    return core_err_set(err, CORE_ERR_INVALID, "method \"%s\" evaluates no population, so it "
                        "cannot run on several MPI processes; start it without mpirun (or with "
                        "-np 1)", agent_method_names[s->method]);
  return cemrl_serve(s, err);
}

void agent_free(Agent *a) {
  if (a) a->vt->free(a);
}

int agent_save(const Agent *a, CoreCkptWriter *w, CoreErr *err) {
  int64_t counters[3] = {a->total_steps, a->episodes, a->iterations};
  int rc = core_ckpt_add_copy(w, "agent.counters", counters, sizeof counters, err);
  if (rc) return rc;
  return a->vt->save(a, w, err);
}

int agent_load(Agent *a, const CoreCkpt *c, CoreErr *err) {
  int64_t counters[3];
  int rc = core_ckpt_read(c, "agent.counters", counters, sizeof counters, err);
  if (rc) return rc;
  a->total_steps = counters[0];
  a->episodes = counters[1];
  a->iterations = counters[2];
  return a->vt->load(a, c, err);
}
