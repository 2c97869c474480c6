/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/checkpointer.c - Merkle checkpoints, signed off the commit stage.
 *
 * When checkpoint_batch_size receipts have been committed, the commit
 * stage cuts a checkpoint: it copies the range's leaves into a job, gives
 * it the next checkpoint number and the time, and (once the group's write
 * has succeeded) hands it to the checkpoint thread. That thread computes
 * the Merkle root, writes and signs the body, chained to the previous
 * checkpoint's body hash, and puts the signed checkpoint on the ready
 * list. The commit stage writes ready checkpoints, oldest first, in its
 * next group (the commit thread wakes for them when no receipt comes),
 * together with a log head that names the newest one. So neither the root
 * (some two hundred hashes for a batch of 100) nor the signature sits on
 * a caller's path or holds the commit stage.
 *
 * Ordering: jobs are cut, signed and written in checkpoint order (one
 * thread signs, lists are FIFO), so each body's previous_checkpoint_sha256
 * is the body hash of the one before, as before. A crash between a cut
 * and its write loses nothing: the receipts are durable and a restart
 * cuts the owed checkpoints again from them (commit.c, restore).
 *
 * Bounds: at most CP_MAX_UNSIGNED cut checkpoints wait for a signature;
 * the commit stage waits for room beyond that (the checkpoint thread needs
 * nothing from the stage to sign, so this cannot deadlock).
 *
 * Locking: cp_mu guards the to-do list, cp_unsigned and cp_stop;
 * commit_mu guards the ready list and cp_outstanding (cut, not yet
 * written), which the commit thread waits on before it exits. The
 * checkpoint thread alone reads and writes prev_checkpoint_sha while the
 * pipeline runs.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chio/checkpoint.h"
#include "chio/merkle.h"
#include "kernel_internal.h"

#define CP_MAX_UNSIGNED 64
#define CP_SIGN_TRIES   16

void chio__cp_jobs_free(chio__cp_job *jobs)
{
    chio__cp_job *next;

    for (; jobs != NULL; jobs = next) {
        next = jobs->next;
        free(jobs->json);
        free(jobs);
    }
}

int chio__checkpoint_cut(chio_kernel *k, uint64_t end_seq, chio__cp_job **jobs)
{
    chio__cp_job *job, **tail;
    size_t bytes = (size_t)k->npending * 32;

    job = malloc(sizeof(*job) + bytes);
    if (job == NULL)
        return CHIO_ENOMEM;
    memset(job, 0, sizeof(*job));
    job->seq = k->next_checkpoint_seq;
    job->end = end_seq;
    job->start = end_seq - k->npending + 1;
    job->issued_at = chio__kernel_now(k);
    job->nleaves = k->npending;
    memcpy(job->leaves, k->pending_leaves, bytes);
    for (tail = jobs; *tail != NULL; tail = &(*tail)->next)
        ;
    *tail = job;
    k->next_checkpoint_seq++;
    k->npending = 0;
    /* Room on the checkpoint thread's list (see "Bounds"). */
    pthread_mutex_lock(&k->cp_mu);
    while (k->cp_unsigned >= CP_MAX_UNSIGNED && !k->cp_stop)
        pthread_cond_wait(&k->cp_cv, &k->cp_mu);
    k->cp_unsigned++;
    pthread_mutex_unlock(&k->cp_mu);
    return 0;
}

void chio__checkpoints_drop(chio_kernel *k, chio__cp_job *jobs)
{
    chio__cp_job *j;
    uint32_t n = 0;

    for (j = jobs; j != NULL; j = j->next)
        n++;
    if (n > 0) {
        pthread_mutex_lock(&k->cp_mu);
        k->cp_unsigned -= n;
        pthread_cond_broadcast(&k->cp_cv);
        pthread_mutex_unlock(&k->cp_mu);
    }
    chio__cp_jobs_free(jobs);
}

void chio__checkpoints_written(chio_kernel *k, chio__cp_job *ready)
{
    chio__cp_job *j;
    uint64_t n = 0;

    for (j = ready; j != NULL; j = j->next)
        n++;
    if (n > 0) {
        pthread_mutex_lock(&k->commit_mu);
        k->cp_outstanding -= n;
        pthread_cond_signal(&k->commit_cv); /* an exiting commit thread waits for 0 */
        pthread_mutex_unlock(&k->commit_mu);
    }
    chio__cp_jobs_free(ready);
}

void chio__checkpoints_hand(chio_kernel *k, chio__cp_job *jobs)
{
    chio__cp_job *last;
    uint64_t n = 0;

    if (jobs == NULL)
        return;
    for (last = jobs, n = 1; last->next != NULL; last = last->next)
        n++;
    pthread_mutex_lock(&k->commit_mu);
    k->cp_outstanding += n;
    pthread_mutex_unlock(&k->commit_mu);
    pthread_mutex_lock(&k->cp_mu);
    if (k->cp_todo_tail != NULL)
        k->cp_todo_tail->next = jobs;
    else
        k->cp_todo_head = jobs;
    k->cp_todo_tail = last;
    pthread_cond_broadcast(&k->cp_cv);
    pthread_mutex_unlock(&k->cp_mu);
}

chio__cp_job *chio__checkpoints_take_ready(chio_kernel *k)
{
    chio__cp_job *jobs;

    pthread_mutex_lock(&k->commit_mu);
    jobs = k->cp_ready_head;
    k->cp_ready_head = k->cp_ready_tail = NULL;
    pthread_mutex_unlock(&k->commit_mu);
    return jobs;
}

/* Root, body and signature of @job, chained to the previous checkpoint. */
static void sign_job(chio_kernel *k, chio__cp_job *job)
{
    chio_checkpoint *cp = NULL;
    uint8_t root[32];
    const char *json;
    size_t len = 0;

    job->rc = chio_merkle_root(job->leaves, (size_t)job->nleaves, root);
    if (job->rc == 0)
        job->rc = chio_checkpoint_sign(k->kp, job->seq, job->start, job->end, root, job->issued_at,
                                       k->prev_checkpoint_sha[0] ? k->prev_checkpoint_sha : NULL,
                                       &cp, NULL);
    if (job->rc != 0)
        return;
    json = chio_checkpoint_json(cp, &len);
    job->json = malloc(len + 1);
    if (job->json == NULL) {
        job->rc = CHIO_ENOMEM;
    } else {
        memcpy(job->json, json, len);
        job->json[len] = '\0';
        job->len = len;
        memcpy(k->prev_checkpoint_sha, chio_checkpoint_body_sha256(cp), 65);
    }
    chio_checkpoint_free(cp);
}

/* Sign @job; a failure (memory, libcrypto) is retried with a growing pause
 * (1 ms doubling to 1 s, about 7 s in all) before it stands: the chain is
 * unchanged by a failed attempt, and a standing failure fails the kernel
 * closed when the commit stage meets it. Stopping ends the pauses. */
static void sign_job_retrying(chio_kernel *k, chio__cp_job *job)
{
    long pause_ms = 1;

    for (int tries = 0;; tries++) {
        struct timespec until;
        int stop;

        job->rc = 0;
        sign_job(k, job);
        if (job->rc == 0 || tries == CP_SIGN_TRIES)
            return;
        clock_gettime(CLOCK_MONOTONIC, &until); /* cp_cv's clock (kernel.c) */
        until.tv_sec += pause_ms / 1000;
        until.tv_nsec += (pause_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        /* The whole pause: cp_cv is also broadcast for every cut, drop and
         * signed job, which under load would end each pause at once and
         * spend the tries in milliseconds (ETIMEDOUT or an error ends it). */
        pthread_mutex_lock(&k->cp_mu);
        while (!k->cp_stop && pthread_cond_timedwait(&k->cp_cv, &k->cp_mu, &until) == 0)
            ;
        stop = k->cp_stop;
        pthread_mutex_unlock(&k->cp_mu);
        if (stop) {
            job->rc = 0;
            sign_job(k, job); /* one last try */
            return;
        }
        pause_ms = pause_ms < 1000 ? pause_ms * 2 : 1000;
    }
}

static void *checkpointer_main(void *arg)
{
    chio_kernel *k = arg;
    chio__cp_job *job;

    pthread_setname_np(pthread_self(), "chio-checkpoint");
    chio__kernel_mark_pipeline_thread(k);
    for (;;) {
        pthread_mutex_lock(&k->cp_mu);
        while (k->cp_todo_head == NULL && !k->cp_stop)
            pthread_cond_wait(&k->cp_cv, &k->cp_mu);
        job = k->cp_todo_head;
        if (job != NULL) {
            k->cp_todo_head = job->next;
            if (k->cp_todo_head == NULL)
                k->cp_todo_tail = NULL;
        }
        pthread_mutex_unlock(&k->cp_mu);
        if (job == NULL)
            break; /* stopping, and nothing left */
        job->next = NULL;
        /* After a failed signature the chain cannot go on: the commit
         * stage fails the kernel closed when it meets the error. */
        if (job->rc == 0)
            sign_job_retrying(k, job);
        pthread_mutex_lock(&k->cp_mu);
        k->cp_unsigned--;
        pthread_cond_broadcast(&k->cp_cv); /* room for a waiting cut */
        pthread_mutex_unlock(&k->cp_mu);
        pthread_mutex_lock(&k->commit_mu);
        if (k->cp_ready_tail != NULL)
            k->cp_ready_tail->next = job;
        else
            k->cp_ready_head = job;
        k->cp_ready_tail = job;
        pthread_cond_signal(&k->commit_cv); /* the commit thread writes it */
        pthread_mutex_unlock(&k->commit_mu);
    }
    return NULL;
}

int chio__checkpointer_start(chio_kernel *k)
{
    k->cp_stop = 0;
    k->cp_unsigned = 0;
    k->cp_outstanding = 0;
    if (k->checkpoint_batch_size == 0)
        return 0;
    if (pthread_create(&k->checkpointer, NULL, checkpointer_main, k) != 0)
        return CHIO_ESYS;
    k->checkpointer_started = 1;
    return 0;
}

void chio__checkpointer_stop(chio_kernel *k)
{
    pthread_mutex_lock(&k->cp_mu);
    k->cp_stop = 1;
    pthread_cond_broadcast(&k->cp_cv);
    pthread_mutex_unlock(&k->cp_mu);
    if (k->checkpointer_started) {
        pthread_join(k->checkpointer, NULL);
        k->checkpointer_started = 0;
    }
    /* Whatever the commit thread left (it exits only when none is owed,
     * unless the kernel failed closed). */
    chio__cp_jobs_free(k->cp_todo_head);
    k->cp_todo_head = k->cp_todo_tail = NULL;
    chio__cp_jobs_free(k->cp_ready_head);
    k->cp_ready_head = k->cp_ready_tail = NULL;
}
