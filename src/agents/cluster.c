/* cluster.c — population shares over MPI: rank 0 hands out individuals, the others serve. */
#include "agents/cluster.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agents/pool_internal.h"
#include "core/alloc.h"
#include "nets/blas.h"

#ifdef CEMRL_WITH_MPI
#include <mpi.h>
#endif

static int g_rank = 0, g_size = 1;

int agent_cluster_rank(void) { return g_rank; }
int agent_cluster_size(void) { return g_size; }

/* The processes a launcher started, from its environment (0: no launcher). */
static long launcher_size(void) {
  const char *v = getenv("OMPI_COMM_WORLD_SIZE");
  if (!v) v = getenv("PMI_SIZE");
  if (!v) return getenv("PMIX_RANK") ? 1 : 0;
  return strtol(v, NULL, 10);
}

#ifdef CEMRL_WITH_MPI

static int g_joined = 0;
static long long g_episodes;  /* episodes this process evaluated for the pool */

/* Individual indices [share(r), share(r + 1)) go to rank r. */
static int share(int n_pop, int r) { return (int)((long long)n_pop * r / g_size); }

enum { TAG_JOB = 1, TAG_ROW, TAG_EPISODES, TAG_STAGE, TAG_TERM, TAG_DONE };

/* What rank 0 asks of a serving rank: evaluate [lo, hi), or stop. Same binary on every rank, so
 * the struct travels as bytes. */
typedef struct {
  int stop;
  int lo, hi;
  int noisy;
  int same_row;             /* one actor's evaluation: a single row, no staged transitions */
  uint64_t seed;
  int64_t gen;
  int64_t eval_first;
  AgentActionNoise noise;
} ClusterJob;

int agent_cluster_built(void) { return 1; }

const char *agent_cluster_library(void) {
  static char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(text, &len);  /* may be called before MPI_Init */
  text[strcspn(text, ",\n")] = '\0';
  return text;
}

int agent_cluster_init(int *argc, char ***argv, CoreErr *err) {
  long launched = launcher_size();
  if (launched == 0) return CORE_OK;
  int provided = MPI_THREAD_SINGLE;
  /* only the main thread calls MPI; pool workers never do */
  MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_size);
  g_joined = 1;
  if (provided < MPI_THREAD_FUNNELED)
    return core_err_set(err, CORE_ERR_RUNTIME, "the MPI library gives thread level %d; cemrl's "
                        "worker threads need MPI_THREAD_FUNNELED", provided);
  if (launched > 1 && g_size == 1)
    /* another MPI's launcher: each process would run the whole method on its own */
    return core_err_set(err, CORE_ERR_INVALID, "started by a launcher of %ld processes, but this "
                        "cemrl's MPI (%s) sees a job of 1: use the mpirun of that library",
                        launched, agent_cluster_library());
  return CORE_OK;
}

void agent_cluster_finalize(void) {
  if (!g_joined) return;
  if (g_rank == 0 && g_size > 1) {
    /* release the serving ranks; each answers with the episodes it evaluated */
    ClusterJob stop = {.stop = 1};
    for (int r = 1; r < g_size; r++) MPI_Send(&stop, sizeof stop, MPI_BYTE, r, TAG_JOB, MPI_COMM_WORLD);
    fprintf(stderr, "cemrl: episodes evaluated by each of the %d MPI processes: %lld", g_size,
            g_episodes);
    for (int r = 1; r < g_size; r++) {
      long long n = 0;
      MPI_Recv(&n, 1, MPI_LONG_LONG, r, TAG_DONE, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      fprintf(stderr, " %lld", n);
    }
    fprintf(stderr, "\n");
  }
  MPI_Finalize();
  g_joined = 0;
  g_rank = 0;
  g_size = 1;
}

void agent_cluster_abort(int status) {
  if (!g_joined || g_size <= 1) return;
  /* a serving rank that cannot serve must not leave rank 0 waiting for its results forever */
  MPI_Abort(MPI_COMM_WORLD, status ? status : 1);
}

int cluster_pool_check(const AgentPool *p, CoreErr *err) {
  if (g_size <= 1) return CORE_OK;
  if (p->n_params > INT_MAX || pool_stage_floats(p) > INT_MAX)
    return core_err_set(err, CORE_ERR_INVALID, "population pool: %zu actor parameters and %zu "
                        "staged floats per individual exceed what one MPI message carries (%d)",
                        p->n_params, pool_stage_floats(p), INT_MAX);
  return CORE_OK;
}

int cluster_pool_send(AgentPool *p, int n_pop) {
  if (g_size <= 1) return n_pop;
  g_episodes += share(n_pop, 1);
  for (int r = 1; r < g_size; r++) {
    ClusterJob job = {.lo = share(n_pop, r), .hi = share(n_pop, r + 1), .noisy = p->noise != NULL,
                      .same_row = p->same_row, .seed = p->seed, .gen = p->gen,
                      .eval_first = p->eval_first};
    if (job.lo == job.hi) continue;
    if (p->noise) job.noise = *p->noise;
    MPI_Send(&job, sizeof job, MPI_BYTE, r, TAG_JOB, MPI_COMM_WORLD);
    if (p->same_row)
      MPI_Send(p->pop, (int)p->n_params, MPI_FLOAT, r, TAG_ROW, MPI_COMM_WORLD);
    else
      for (int i = job.lo; i < job.hi; i++)
        MPI_Send(p->pop + (size_t)i * p->n_params, (int)p->n_params, MPI_FLOAT, r, TAG_ROW,
                 MPI_COMM_WORLD);
  }
  return share(n_pop, 1);
}

/* The episodes of [lo, hi) and each one's staged transitions, between rank 0 and rank r. */
static void transfer_results(AgentPool *p, int r, int lo, int hi, int sending) {
  if (sending)
    MPI_Send(p->out + lo, (int)(sizeof(EnvEpisode) * (size_t)(hi - lo)), MPI_BYTE, r, TAG_EPISODES,
             MPI_COMM_WORLD);
  else
    MPI_Recv(p->out + lo, (int)(sizeof(EnvEpisode) * (size_t)(hi - lo)), MPI_BYTE, r, TAG_EPISODES,
             MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  if (p->eval_first >= 0) return;  /* an actor's evaluation stages nothing for a buffer */
  for (int i = lo; i < hi; i++) {
    PoolStage *sg = &p->stages[i];
    /* the same rule pool_stage_step applies: a cut step is not staged */
    if (!sending) sg->len = p->out[i].length - (p->out[i].status != ENV_OK);
    /* only the steps the episode staged: obs, next_obs, act, rew, term */
    const int len = sg->len, od = p->obs_dim, ad = p->act_dim;
    float *part[4] = {sg->obs, sg->next_obs, sg->act, sg->rew};
    const int count[4] = {len * od, len * od, len * ad, len};
    for (int k = 0; k < 4; k++) {
      if (sending) MPI_Send(part[k], count[k], MPI_FLOAT, r, TAG_STAGE, MPI_COMM_WORLD);
      else MPI_Recv(part[k], count[k], MPI_FLOAT, r, TAG_STAGE, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
    if (sending) MPI_Send(sg->term, len, MPI_UNSIGNED_CHAR, r, TAG_TERM, MPI_COMM_WORLD);
    else MPI_Recv(sg->term, len, MPI_UNSIGNED_CHAR, r, TAG_TERM, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  }
}

void cluster_pool_receive(AgentPool *p, int n_pop) {
  for (int r = 1; r < g_size; r++) {
    int lo = share(n_pop, r), hi = share(n_pop, r + 1);
    if (lo < hi) transfer_results(p, r, lo, hi, 0);
  }
}

/* Receive rank 0's next job. Open MPI's blocking receive polls a core at full speed, and a
 * serving rank waits through rank 0's whole gradient phase: test for it and sleep in between
 * (0.2 ms, nothing next to an episode). */
static void wait_for_job(ClusterJob *job) {
  MPI_Request req;
  MPI_Irecv(job, sizeof *job, MPI_BYTE, 0, TAG_JOB, MPI_COMM_WORLD, &req);
  int done = 0;
  const struct timespec nap = {0, 200000};
  for (;;) {
    MPI_Test(&req, &done, MPI_STATUS_IGNORE);
    if (done) return;
    nanosleep(&nap, NULL);
  }
}

int agent_pool_serve(AgentPool *p, CoreErr *err) {
  size_t n_rows;
  if (core_mul_size(&n_rows, (size_t)p->max_pop, p->n_params))
    return core_err_set(err, CORE_ERR_NOMEM, "rank %d: population size overflows", g_rank);
  float *rows = core_malloc(n_rows * sizeof(float));
  EnvEpisode *out = core_calloc((size_t)p->max_pop, sizeof(EnvEpisode));
  if (!rows || !out) {
    core_free(rows);
    core_free(out);
    return core_err_set(err, CORE_ERR_NOMEM, "rank %d: out of memory for %d individuals of %zu "
                        "parameters", g_rank, p->max_pop, p->n_params);
  }
  nn_blas_set_threads(1);
  for (;;) {
    ClusterJob job;
    wait_for_job(&job);
    if (job.stop) break;
    /* rank 0 runs the same build on the same settings: a bad share is a programming error */
    CORE_ASSERT(job.lo >= 0 && job.lo < job.hi && job.hi <= p->max_pop);
    if (job.same_row)
      MPI_Recv(rows, (int)p->n_params, MPI_FLOAT, 0, TAG_ROW, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    else
      for (int i = job.lo; i < job.hi; i++)
        MPI_Recv(rows + (size_t)i * p->n_params, (int)p->n_params, MPI_FLOAT, 0, TAG_ROW,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    p->pop = rows;
    p->same_row = job.same_row;
    p->eval_first = job.eval_first;
    p->seed = job.seed;
    p->gen = job.gen;
    p->noise = job.noisy ? &job.noise : NULL;
    p->out = out;
    pool_run_range(p, job.lo, job.hi);
    g_episodes += job.hi - job.lo;
    transfer_results(p, 0, job.lo, job.hi, 1);
    p->noise = NULL;
    p->same_row = 0;
    p->eval_first = -1;
  }
  core_free(rows);
  core_free(out);
  long long n = g_episodes;
  MPI_Send(&n, 1, MPI_LONG_LONG, 0, TAG_DONE, MPI_COMM_WORLD);
  return CORE_OK;
}

#else  /* a build without MPI: one process */

int agent_cluster_built(void) { return 0; }

const char *agent_cluster_library(void) { return "none"; }

int agent_cluster_init(int *argc, char ***argv, CoreErr *err) {
  (void)argc;
  (void)argv;
  long n = launcher_size();
  if (n > 1)
    return core_err_set(err, CORE_ERR_INVALID, "started by an MPI launcher with %ld processes, but "
                        "this cemrl was built without MPI: install libopenmpi-dev and configure "
                        "with -DCEMRL_WITH_MPI=ON, or run it without mpirun", n);
  return CORE_OK;
}

void agent_cluster_finalize(void) {}

void agent_cluster_abort(int status) { (void)status; }

int cluster_pool_check(const AgentPool *p, CoreErr *err) {
  (void)p;
  (void)err;
  return CORE_OK;
}

int cluster_pool_send(AgentPool *p, int n_pop) {
  (void)p;
  return n_pop;
}

void cluster_pool_receive(AgentPool *p, int n_pop) {
  (void)p;
  (void)n_pop;
}

int agent_pool_serve(AgentPool *p, CoreErr *err) {
  (void)p;
  return core_err_set(err, CORE_ERR_INVALID, "this cemrl was built without MPI; it cannot serve "
                      "population evaluations");
}

#endif
