/* cluster.h — population evaluation across processes: MPI ranks (Open MPI).
 *
 * Started by mpirun, every rank runs `cemrl train` with the same arguments. Rank 0 runs the
 * method and owns the run directory; every other rank builds the same population pool and serves
 * it (agent_pool_serve). For each population evaluation rank 0 sends every other rank a
 * contiguous share of the individuals, evaluates the first share itself on its own threads, then
 * receives the others' episodes and staged transitions and appends them to the replay buffer in
 * index order. An episode depends only on its parameters and on (seed, generation, index), so a
 * run gives the same numbers for any number of ranks and threads.
 *
 * Without a launcher, or in a build without MPI, there is one process: rank 0 of 1, and the pool
 * never talks to anyone. Only the thread that called agent_cluster_init uses MPI.
 */
#ifndef CEMRL_AGENTS_CLUSTER_H
#define CEMRL_AGENTS_CLUSTER_H

#include "agents/pool.h"
#include "core/err.h"

/* Join the MPI job when started by a launcher (mpirun/mpiexec sets its variables); otherwise do
 * nothing. Fails when a launcher started several processes of a build without MPI. */
int agent_cluster_init(int *argc, char ***argv, CoreErr *err);

/* This process's rank (0 without MPI). */
int agent_cluster_rank(void);

/* Processes in the job (1 without MPI). */
int agent_cluster_size(void);

/* 1 when this build can run over MPI. */
int agent_cluster_built(void);

/* The MPI library this build uses, one line ("none" without MPI). */
const char *agent_cluster_library(void);

/* Leave the job: rank 0 first releases every serving rank and prints how many episodes each
 * process evaluated. No-op when not joined. */
void agent_cluster_finalize(void);

/* End the whole job with status (a rank other than 0 that failed: rank 0 would otherwise wait
 * for it forever). No-op outside a job of several processes. */
void agent_cluster_abort(int status);

/* On a rank other than 0: evaluate the shares rank 0 sends, with p's envs and threads, until rank
 * 0 releases this rank (agent_cluster_finalize). 0, or an error in a build without MPI. */
int agent_pool_serve(AgentPool *p, CoreErr *err);

#endif
