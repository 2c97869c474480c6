/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/kernel_internal.h - the kernel object and the pieces its files
 * share: the sign request, the commit list between signer threads and the
 * commit thread, logging and the commit stage's checkpoint state.
 *
 * Threads and what they own:
 *   caller threads  prepare a request (canonical bytes, id, message), push it
 *                   on the ck_ring and wait on its `done` word;
 *   signer threads  pop batches, sign (Ed25519) and hash the leaf, append the
 *                   batch to the commit list;
 *   commit thread   assigns sequence numbers, cuts checkpoints, writes one
 *                   RocksDB WriteBatch per group (one WAL sync);
 *   completion thread  wakes the waiting callers and runs the callbacks of
 *                   each committed group while the next group is synced.
 * Only the commit thread touches next_seq and the checkpoint state and
 * writes receipts; the one other store writer is a revocation (revocation.c),
 * serialised with it inside chio__store_write. The commit and completion
 * lists have one mutex each, and neither is ever taken by a caller.
 */
#ifndef CHIO_KERNEL_INTERNAL_H
#define CHIO_KERNEL_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "chio/kernel.h"
#include "mediate.h"
#include "model.h"
#include "queue.h"
#include "store_internal.h"

/* The longest budget key (check 8): capability id, NUL, 4-byte grant
 * index (big-endian, so the key is also the store's "budgets" key). */
#define CHIO__CHARGE_KEY_MAX 520

/* The value of the budgets table (med.budgets): @used is the invocation
 * counter callers bump with a CAS; @committed is the highest count whose
 * charge is in the store (under the kernel's bw_mu, and the starting
 * thread's before the threads run), so a charge written after a higher
 * one never lowers what a restart restores. */
typedef struct chio__budget {
    uint64_t used;
    uint64_t committed;
    /* Issue 11 (budget.c): the latest expires_at of a token charged against
     * it (0 = unknown: restored from the store and not charged since; kept),
     * the references (the table's and each checker's), and the link on the
     * retired stack. All atomic but next. */
    uint64_t expires_at;
    uint32_t refs;
    struct chio__budget *next;
    /* The expires_at stored with @committed (under bw_mu, like it), the
     * budget's place in the kernel's write queue (wstate 0 none, 1 queued,
     * 2 being written; wnext: the queue's link; under bw_mu), and the
     * budget's key: a swept budget's row is deleted by it. */
    uint64_t committed_expires_at;
    uint32_t wstate;
    struct chio__budget *wnext;
    uint64_t wcount, wexp; /* what the leader writes (wstate 2) */
    uint32_t klen;
    char key[];
} chio__budget;

/* Bounds of the revocation list (chio_kernel_revoke_capability). */
#define CHIO__MAX_REVOCATION_ID_LEN CHIO_MAX_REVOCATION_ID_LEN
#define CHIO__MAX_REVOCATIONS       CHIO_MAX_REVOCATIONS

typedef struct chio__sign_req {
    chio__receipt_prep prep;
    uint8_t leaf[32]; /* Merkle leaf hash of the stored form */
    int rc;           /* outcome, set by the commit thread */
    uint64_t seq;     /* sequence number when committed */
    chio_sign_cb cb;  /* asynchronous when set */
    void *cb_ctx;
    uint32_t done;      /* 1 = complete (sync callers; seq_cst, see chio__done_ev) */
    uint32_t wake_bit;  /* the caller's bit of chio__done_ev (sync callers) */
    uint32_t published; /* release/acquire hand-off through the ring */
    struct chio__sign_req *next;
} chio__sign_req;

enum { KSTATE_RUNNING = 0, KSTATE_DRAINING = 1, KSTATE_DRAINED = 2 };

/* Shards of the in-flight caller count (admission.c). */
#define CHIO__CALLER_SHARDS 16

struct chio_kernel {
    /* configuration (immutable after chio_kernel_new) */
    chio_keypair *kp;
    char *policy_hash;
    uint8_t *ca_keys;
    size_t n_ca_keys;
    uint32_t max_delegation_depth;
    int allow_sampling, allow_sampling_tool_use, allow_elicitation;
    uint64_t max_stream_duration_secs, max_stream_total_bytes;
    int require_web3_evidence;
    uint64_t checkpoint_batch_size;
    chio_retention_config retention;
    char *store_path; /* NULL = ephemeral */
    uint32_t signer_threads, ring_capacity, max_batch;
    int signer_priority; /* nice value for the kernel's threads; 0 = inherit */
    int priority_warned; /* signer_priority_not_applied logged (atomic) */
    int signer_realtime; /* SCHED_FIFO priority of the signer threads; 0 = off */
    int realtime_warned; /* signer_realtime_not_applied logged (atomic) */
    uint64_t max_argument_bytes;
    chio_durability durability;
    chio_clock_fn clock;
    void *clock_ctx;
    chio_log_fn log;
    void *log_ctx;
    chio_log_level log_level;

    /* lifecycle */
    int state; /* KSTATE_*, atomic */
    /* chio_kernel_drain() calls under way (atomic): a drain waiting for
     * another one still reads @state, so chio_kernel_free() frees only
     * once none is left (kernel.c, "drain and free"). */
    uint32_t drainers;
    /* Callers between the state check and their push, counted in shards
     * (a thread always uses the same one; see admission.c, "callers in
     * flight") so that callers on different CPUs do not write one shared
     * cache line per call. 64 bytes apart: never two in one line. */
    struct {
        uint32_t n;
        char pad[60];
    } active_callers[CHIO__CALLER_SHARDS];
    int started; /* store open and threads running (atomic) */
    pthread_mutex_t start_mu;
    pthread_mutex_t log_mu;
    int failed;   /* failed closed (atomic) */
    int stopping; /* signers: exit when the ring is empty (atomic) */

    /* pipeline */
    chio__queue queue;
    ck_ring_buffer_t *slots;
    pthread_t *signers;
    uint32_t nsigners_started;
    pthread_t committer;
    int committer_started;
    pthread_mutex_t commit_mu;
    pthread_cond_t commit_cv;
    chio__sign_req *commit_head, *commit_tail;
    uint32_t signers_exited; /* under commit_mu */
    int committing;          /* under commit_mu: a thread runs the commit stage */
    /* Signer batches popped and not yet handed over: raised after the pop
     * (atomic), lowered under commit_mu as the batch reaches the commit
     * list or the stage (signer.c, "caller runs"). */
    uint32_t signer_holding;
    pthread_t completer;
    int completer_started;
    pthread_mutex_t done_mu; /* committed requests waiting for completion */
    pthread_cond_t done_cv;
    chio__sign_req *done_head, *done_tail;
    int committer_exited; /* under done_mu */
    /* checkpointer.c: the checkpoint thread signs checkpoints the commit
     * stage cut; the stage writes them in a later group. */
    pthread_t checkpointer;
    int checkpointer_started;
    pthread_mutex_t cp_mu; /* the checkpoint thread's to-do list */
    pthread_cond_t cp_cv;  /* work for it, or room on its list */
    struct chio__cp_job *cp_todo_head, *cp_todo_tail;
    uint32_t cp_unsigned;                               /* under cp_mu: cut, not yet signed */
    int cp_stop;                                        /* under cp_mu */
    struct chio__cp_job *cp_ready_head, *cp_ready_tail; /* under commit_mu: signed */
    uint64_t cp_outstanding; /* under commit_mu: cut, not yet written (or dropped) */

    /* commit stage (commit thread only, after start) */
    chio_store *store;
    chio__store_batch *batch;
    uint64_t next_seq;
    uint64_t next_checkpoint_seq;    /* the next one to cut */
    uint64_t written_checkpoint_seq; /* the newest one written (the head names it) */
    /* The body hash of the newest checkpoint: cut and written by the
     * checkpoint thread once the pipeline runs (restore before). */
    char prev_checkpoint_sha[65]; /* "" before the first */
    uint8_t *pending_leaves;      /* leaves since the last checkpoint */
    uint64_t npending, cap_pending;

    /* tamper evidence and durable budgets (commit thread only, after start;
     * see store/head.c): the hash chain value of the last committed
     * receipt and where the chain starts. */
    uint8_t chain_prev[32];
    uint64_t chain_from;
    /* budget charges written before dispatch (budget.c, "Budgets survive
     * restarts"): under bw_mu, the budgets waiting for a write (linked by
     * wnext), whether a leader is writing, the sticky error of a failed
     * write, and the leader's batch (allocated at start). */
    pthread_mutex_t bw_mu;
    pthread_cond_t bw_cv;
    struct chio__budget *bw_pending;
    int bw_writing, bw_rc;
    chio__store_batch *bw_batch;
    /* revocations: serialises revokers so the bound is exact */
    pthread_mutex_t revoke_mu;
    uint64_t nrevocations;    /* under revoke_mu (and at start) */
    uint64_t max_revocations; /* CHIO_MAX_REVOCATIONS; lowered by a test hook */
    /* Revocations made since start, raised (seq_cst) after each one is in
     * the list: a call that read it before check 3 and reads the same
     * value before its dispatch skips the second lookup. */
    uint64_t revoke_gen;

    /* sessions, registries, capability tables (evaluate.h) */
    chio__mediation med;

    /* deny logging (evaluate.c): the second of the last info line, and the
     * denies logged at debug only since (atomics) */
    uint64_t deny_log_sec, deny_log_skipped;
    /* failed starts (kernel.c, under start_mu): the second of the last
     * error line, and the failures logged at debug only since */
    uint64_t start_log_sec, start_log_skipped;
    /* metrics (atomic) */
    uint64_t m_signed, m_batches, m_max_batch, m_wal_syncs, m_checkpoints, m_write_errors;
    uint64_t m_last_seq, m_last_checkpoint_seq;
    uint32_t m_signers_running;
    uint64_t m_unreceipted[CHIO__UNRECEIPTED_N]; /* evaluation errors without a receipt */

    /* ---- in-flight credit budget (admission.c takes, commit.c returns) ----
     * One credit per sign request from before its prepare (caller thread)
     * until it is completed (caller woken or callback returned), so the
     * ring, the commit list and the completion list together never hold
     * more than inflight_max requests. */
    uint32_t inflight;       /* credits held now (atomic) */
    uint32_t inflight_max;   /* the budget: ring_capacity (immutable) */
    uint32_t inflight_high;  /* most credits ever held at once (atomic) */
    chio__event credit;      /* submitters wait here for a credit */
    uint32_t slow_commit_us; /* test hook: per receipt, before each group write (atomic) */
    uint32_t slow_sign_us;   /* test hook: before a signer signs each batch (atomic) */
    uint32_t hold_batch_us;  /* test hook: a popped batch waits for the commit list (atomic) */
    /* key memory (codes.c): 1 once the key_memory_unlocked check ran (atomic) */
    int key_memory_checked;
};

/* log.c: one JSON object per line. @msg is escaped; @fields_fmt must
 * produce trusted JSON members (numbers, fixed keys) or be NULL. */
void chio__log(chio_kernel *k, chio_log_level level, const char *event, const char *msg,
               const char *fields_fmt, ...) __attribute__((format(printf, 5, 6)));
void chio__log_flush(chio_kernel *k);
/* 1 while the calling thread runs @k's log sink (which holds log_mu, and
 * may run on a kernel thread or under start_mu): drain, start and the
 * synchronous calls refuse with CHIO_EDEADLK there rather than hang. */
int chio__log_in_sink(const chio_kernel *k);

/* signer.c */
int chio__pipeline_start(chio_kernel *k, chio_error *err);
void chio__pipeline_stop(chio_kernel *k);
/* Queue @list (linked by next) for the completion thread: callbacks. */
void chio__hand_to_completer(chio_kernel *k, chio__sign_req *list);

/* commit.c: the commit stage, on the thread holding it (`committing`).
 * Write @list as one or more groups (a large receipt ends a segment; an
 * empty list writes the checkpoints signed since the last group) and set
 * every request's rc; then chio__commit_group also completes them
 * (wakes synchronous callers, hands callbacks on). */
void chio__commit_segments(chio_kernel *k, chio__sign_req *list);
void chio__commit_group(chio_kernel *k, chio__sign_req *list);
/* Wake @req's caller or run its callback, and return its credit. */
void chio__commit_complete(chio_kernel *k, chio__sign_req *req);
/* Where synchronous callers of every kernel sleep until their request is
 * committed (commit.c): one event for the process, never freed, so that a
 * caller that wakes after its kernel was drained and freed (drain lets
 * calls finish, and a host may free the kernel as soon as drain returns)
 * touches no memory of that kernel. */
extern chio__event chio__done_ev;
uint32_t chio__commit_finish(chio_kernel *k, chio__sign_req *req);
/* The test hooks' sleep (slow_commit_us, slow_sign_us, hold_batch_us). */
void chio__kernel_nap_us(uint64_t us);
/* Commit stage helpers (commit.c), also used by restore.c: append a
 * Merkle leaf to the pending ones; put the signed log head for everything
 * committed so far into @b. */
int chio__kernel_add_leaf(chio_kernel *k, const uint8_t leaf[32]);
int chio__kernel_put_head(chio_kernel *k, chio__store_batch *b, chio_error *err);

/* restore.c: next_seq, the chain and the checkpoint state from the open
 * store. */
int chio__commit_restore(chio_kernel *k, chio_error *err);
/* checkpointer.c. A cut checkpoint: the range and its leaves, then the
 * signed JSON (or the error) from the checkpoint thread. */
typedef struct chio__cp_job {
    struct chio__cp_job *next;
    uint64_t seq, start, end, issued_at;
    char *json; /* signed checkpoint, malloc'd */
    size_t len;
    int rc;
    uint64_t nleaves;
    uint8_t leaves[]; /* nleaves x 32 */
} chio__cp_job;
int chio__checkpointer_start(chio_kernel *k);
/* After the signers and the commit thread have exited. */
void chio__checkpointer_stop(chio_kernel *k);
/* Commit stage: cut a checkpoint of the pending leaves ending at @end_seq
 * into *@jobs (handed on with chio__checkpoints_hand after the group's
 * write succeeded). Waits while too many cut checkpoints are unsigned. */
int chio__checkpoint_cut(chio_kernel *k, uint64_t end_seq, chio__cp_job **jobs);
void chio__checkpoints_hand(chio_kernel *k, chio__cp_job *jobs);
/* Cut jobs that will not be handed on (the group's write failed). */
void chio__checkpoints_drop(chio_kernel *k, chio__cp_job *jobs);
/* Ready jobs the stage has written, or dropped after a failure: no longer
 * owed. Frees them. */
void chio__checkpoints_written(chio_kernel *k, chio__cp_job *ready);
void chio__cp_jobs_free(chio__cp_job *jobs);
/* Commit stage: the signed checkpoints ready to be written, oldest first. */
chio__cp_job *chio__checkpoints_take_ready(chio_kernel *k);

/* The commit stage's state before a group (rewind.c). */
typedef struct chio__commit_mark {
    uint64_t next_seq, npending, next_checkpoint_seq, written_checkpoint_seq;
    uint8_t chain_prev[32];
} chio__commit_mark;
void chio__commit_mark_take(const chio_kernel *k, chio__commit_mark *m);
/* Back to @m after a failure before the group's write: the checkpoints
 * @cut since are dropped, the ready ones taken for the group (@ready)
 * go back to the head of the ready list. */
void chio__commit_rewind(chio_kernel *k, const chio__commit_mark *m, chio__cp_job *cut,
                         chio__cp_job *ready);

/* A synchronous request whose caller finds the ring empty, and either
 * the commit stage idle or a signer busy with a batch, is signed on the
 * caller's thread, and committed there too if the stage is still idle
 * (signer.c, "caller runs"). Returns CHIO__RAN_INLINE (req->rc holds the
 * outcome, the credit is back), CHIO__RAN_HANDED (signed, now on the
 * commit list: await it) or 0 (push the request on the ring). */
#define CHIO__RAN_INLINE 1
#define CHIO__RAN_HANDED 2
int chio__sign_on_caller(chio_kernel *k, chio__sign_req *req);

uint64_t chio__kernel_now(chio_kernel *k);
/* 1 while the calling thread runs @k's clock (inside chio__kernel_now):
 * calls into @k from there are refused with CHIO_EDEADLK (kernel.c). The
 * message of that refusal, and the message for a refused
 * chio__kernel_enter's code (CHIO_EDRAINED or CHIO_EDEADLK). */
int chio__kernel_in_clock(const chio_kernel *k);
extern const char chio__clock_refusal[];
const char *chio__kernel_enter_refusal(int rc);

/* admission.c, for the mediation files. A caller that entered (0 from
 * chio__kernel_enter; CHIO_EDRAINED or, from @k's clock, CHIO_EDEADLK
 * otherwise) holds drain off until chio__kernel_leave; the
 * _entered signing calls skip the state check so that a call admitted
 * before a drain still gets its receipt. Ownership as the public calls. */
int chio__kernel_enter(chio_kernel *k);
void chio__kernel_leave(chio_kernel *k);
/* admission.c: drain's wait (a caller between its state check and its
 * push), whether this thread is inside @k now (a callback), and one credit
 * of the in-flight budget for a request (@block: sleep while the budget
 * is spent, else CHIO_EAGAIN; CHIO_EDEADLK on @k's completion thread). */
int chio__kernel_callers_in_flight(chio_kernel *k);
int chio__kernel_inside(const chio_kernel *k);
/* How many calls on @k this thread is inside now (0 when not tracked). */
unsigned chio__kernel_depth(const chio_kernel *k);
unsigned chio__thread_depth(void);
int chio__kernel_credit_take(chio_kernel *k, int block);
/* kernel.c: start @k if it has not started (once, under start_mu). */
int chio__kernel_ensure_started(chio_kernel *k, chio_error *err);
/* kernel_sign.c: the kernel's own receipts, written from typed fields in one pass (no
 * builder document); @f is read during the call and f->params_owned taken
 * in every case. Called inside a call (entered), also on the completion
 * thread when a callback submitted the call (no CHIO_EDEADLK for that:
 * the commit never waits for the completion thread). @held: the caller
 * took the receipt's credit (chio__kernel_credit_ahead); the request owns
 * it in every case and returns it on any failure. */
int chio__kernel_sign_entered(chio_kernel *k, chio__receipt_fields *f, int held, chio_receipt **out,
                              chio_error *err);
int chio__kernel_sign_async_entered(chio_kernel *k, chio__receipt_fields *f, int held,
                                    chio_sign_cb cb, void *ctx, chio_error *err);

/* budget.c: restore the budget counters from the store (kernel start),
 * deleting the rows of expired capabilities. chio__budgets_put_deletes
 * adds the deletions of the rows of swept (expired) budgets to @b (commit
 * thread only, once per group, when @b already holds the group's writes);
 * when it returns 1 it holds the kernel's bw_mu, and the caller calls
 * chio__budgets_deletes_done once @b is written or dropped (see budget.c,
 * "Reclaiming"). */
int chio__budgets_load(chio_kernel *k, chio_error *err);
int chio__budgets_put_deletes(chio_kernel *k, chio__store_batch *b);
void chio__budgets_deletes_done(chio_kernel *k);
/* commit.c: fail the kernel closed after a store write error @rc (sticky;
 * logged and counted). */
void chio__kernel_fail_closed(chio_kernel *k, int rc, const chio_error *err);
/* commit.c: fail the kernel closed (logged and counted once) when a write
 * to its store failed that no commit or charge reported: a revocation, an
 * archiving pass, the synced write behind a NOSYNC durability mark, the
 * sentinel's mark (logged with its own error), or a write the store found
 * gone after it. Run where callers leave the kernel (admission.c), after
 * each group and at drain; a load or two when nothing failed. */
void chio__kernel_check_store(chio_kernel *k);
/* commit.c, at drain once the pipeline stopped: the sentinel's mark left
 * for the close is written now, and its failure fails the kernel closed
 * (logged, the drain returns CHIO_EFAILED) instead of going unseen at the
 * close. */
void chio__kernel_flush_mark(chio_kernel *k);
/* Test hook: lower the revocation bound of @k (default CHIO_MAX_REVOCATIONS). */
void chio__kernel_set_max_revocations(chio_kernel *k, uint64_t max);
/* revocation.c: 1 when @id is on the kernel's revocation list, else 0
 * (check 3, in authz.c, asks it for the token and each link). */
int chio__revoked(chio_kernel *k, const char *id);
/* The revocation generation to read just before check 3 (@k->revoke_gen). */
uint64_t chio__revoke_gen(const chio_kernel *k);
/* Check 3 again, just before a dispatch (evaluate.c, providers.c):
 * CAPABILITY_REVOKED with @reason when @cap's id or a delegation link was
 * revoked since; no lookup when no revocation was made since @seen_gen
 * (chio__revoke_gen() read before check 3). */
chio_code chio__revoked_since_check(chio_kernel *k, const chio_capability *cap, uint64_t seen_gen,
                                    char *reason, size_t cap_reason);

/* 1 when the kernel failed closed: its store cannot commit, so nothing may
 * be dispatched whose receipt could not be written. */
static inline int chio__kernel_failed(chio_kernel *k)
{
    return __atomic_load_n(&k->failed, __ATOMIC_SEQ_CST);
}

/* Test hooks. */
chio_store *chio__kernel_store(chio_kernel *k);

/* ---- in-flight budget and the completion thread (admission.c, signer.c) ---- */
/* 1 when the calling thread is @k's completion thread (a callback runs). */
int chio__kernel_on_completer(const chio_kernel *k);
/* Marks the calling thread as one of @k's signer, commit or checkpoint
 * threads (set once, at the thread's start). */
void chio__kernel_mark_pipeline_thread(const chio_kernel *k);
/* 1 when the calling thread is one of @k's own threads: the completion
 * thread or a pipeline thread, where the clock and the log sink run. */
int chio__kernel_on_own_thread(const chio_kernel *k);
/* CHIO_EDEADLK (with a message in @err) when the calling thread is @k's
 * completion thread, where a synchronous call would wait for itself, or
 * inside @k's log sink (chio__log_in_sink); else 0. Checked first by
 * every synchronous entry point. */
int chio__kernel_refuse_reentry(const chio_kernel *k, chio_error *err);
/* Where a wait for a credit could wait for its own thread (@k's own
 * threads, @k's log sink), take now the credit of a receipt to be signed
 * after user code runs there (a tool of an evaluation submitted from a
 * callback or the sink, the host's answer to its nested request), so that a
 * spent budget is refused with CHIO_EDEADLK before that code runs, never
 * after it. Returns 1 with the credit taken (pass it as @held to the
 * signing, or return it with chio__credits_release), 0 on any other
 * thread (nothing taken: the signing waits for its credit as usual), or
 * CHIO_EDEADLK. */
int chio__kernel_credit_ahead(chio_kernel *k, chio_error *err);
/* The message of that CHIO_EDEADLK (and of a signing refused for it). */
extern const char chio__credit_refusal[];
/* Return @n credits (requests completed) and wake submitters waiting. */
void chio__credits_release(chio_kernel *k, uint32_t n);
/* Test hooks: a slow disk (before every group commit's store write, sleep
 * @usec per receipt in the group; 0 = off); the most credits held at once
 * since start. */
void chio__kernel_slow_commits(chio_kernel *k, uint32_t usec);
/* Test hook: a slow signer (after popping a batch and before signing it,
 * a signer thread sleeps @usec; 0 = off). Callers do not sleep. */
void chio__kernel_slow_signs(chio_kernel *k, uint32_t usec);
/* Test hook: after popping a batch (and any slow_signs nap), a signer
 * waits until a request is on the commit list (a caller signed beside the
 * held batch), at most @usec; 0 = off. */
void chio__kernel_hold_batches(chio_kernel *k, uint32_t usec);
uint32_t chio__kernel_in_flight_high_water(const chio_kernel *k);
/* codes.c (key memory): once per kernel, log a warning event
 * "key_memory_unlocked" when the keypair's pages could not be mlock()ed
 * (RLIMIT_MEMLOCK; they are still excluded from core dumps). Returns 1
 * when it warned. Idempotent, any thread; the first evaluation calls it,
 * and the kernel's start may. */
int chio__kernel_check_key_memory(chio_kernel *k);
/* codes.c: 1 when @name is a decision code's name (chio_code_name()):
 * a receipt's decision.guard names the kernel check that denied by its
 * code, so no guard may take such a name (review 5 F2). */
int chio__is_code_name(const char *name);

#endif
