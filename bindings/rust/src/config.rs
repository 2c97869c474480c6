//! Kernel configuration: [`KernelBuilder`] (the `chio_kernel_config` fields
//! plus build-phase registrations) and the option types it takes:
//! [`Durability`], [`LogLevel`], [`Retention`].

use std::fmt;
use std::os::raw::c_int;
use std::path::{Path, PathBuf};
use std::ptr::{self, NonNull};

use crate::callback_types::{GuardDecision, GuardInput, NestedKind, ToolContext};
use crate::callbacks::{
    clock_trampoline, log_trampoline, ClockFnBox, ClockState, GuardFnBox, LogFnBox, LogState,
    NestedFnBox, Owned, ToolFn,
};
use crate::error::{check, new_err, Error};
use crate::kernel::Kernel;
use crate::keys::Keypair;
use crate::strings::{cstring, path_cstring};
use crate::sys;
use crate::Result;

/// How hard the receipt store syncs (`chio_durability`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// WAL fsync per group commit (the default).
    #[default]
    Sync,
    /// WAL written, not fsynced: survives a crash of the process, not of the machine.
    NoSync,
}

/// Log levels (`chio_log_level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Debug.
    Debug,
    /// Info (the default threshold).
    Info,
    /// Warnings.
    Warn,
    /// Errors.
    Error,
}

impl LogLevel {
    fn to_raw(self) -> sys::chio_log_level {
        match self {
            LogLevel::Debug => sys::CHIO_LOG_DEBUG,
            LogLevel::Info => sys::CHIO_LOG_INFO,
            LogLevel::Warn => sys::CHIO_LOG_WARN,
            LogLevel::Error => sys::CHIO_LOG_ERROR,
        }
    }

    pub(crate) fn from_raw(v: sys::chio_log_level) -> LogLevel {
        match v {
            sys::CHIO_LOG_DEBUG => LogLevel::Debug,
            sys::CHIO_LOG_INFO => LogLevel::Info,
            sys::CHIO_LOG_WARN => LogLevel::Warn,
            _ => LogLevel::Error,
        }
    }
}

/// Receipt retention (`chio_retention_config`): old receipts move, with
/// their checkpoints, from the live store to an archive store. It needs a
/// durable store ([`KernelBuilder::receipt_store`]); [`KernelBuilder::build`]
/// fails with `CHIO_ECONFIG` otherwise, and when both limits are 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    /// Keep receipts at most this many days (0: no age limit).
    pub retention_days: u32,
    /// Keep at most this many bytes of receipts (0: no size limit).
    pub max_size_bytes: u64,
    /// The archive store's directory. Required: libchio never just drops
    /// receipts, so `None` fails the build with `CHIO_ECONFIG`.
    pub archive_path: Option<PathBuf>,
}

enum Registration {
    Tool {
        id: String,
        tools: Vec<String>,
        f: Box<ToolFn>,
    },
    Guard {
        name: String,
        f: Box<GuardFnBox>,
    },
    ForbiddenPath {
        name: String,
        prefixes: Vec<String>,
    },
    SecretLeak {
        name: String,
        patterns: Vec<String>,
    },
    Nested(Box<NestedFnBox>),
}

enum StoreChoice {
    Unset,
    Ephemeral,
    Path(PathBuf),
}

/// Configures and builds a [`Kernel`] (`chio_kernel_config` plus the
/// build-phase registrations). Unset options keep libchio's defaults.
///
/// A receipt store is required: call [`KernelBuilder::receipt_store`] or
/// [`KernelBuilder::ephemeral_store`].
pub struct KernelBuilder {
    keypair: Keypair,
    policy_hash: String,
    store: StoreChoice,
    ca_keys: Vec<[u8; 32]>,
    max_delegation_depth: Option<u32>,
    allow_sampling: bool,
    allow_sampling_tool_use: bool,
    allow_elicitation: bool,
    max_stream_duration_secs: Option<u64>,
    max_stream_total_bytes: Option<u64>,
    require_web3_evidence: bool,
    checkpoint_batch_size: Option<u64>,
    retention: Option<Retention>,
    signer_threads: Option<u32>,
    ring_capacity: Option<u32>,
    max_batch: Option<u32>,
    durability: Durability,
    log_level: Option<LogLevel>,
    log: Option<Box<LogFnBox>>,
    clock: Option<Box<ClockFnBox>>,
    lock_key_memory: bool,
    signer_priority: Option<i32>,
    max_argument_bytes: Option<u64>,
    signer_realtime: Option<i32>,
    registrations: Vec<Registration>,
}

impl fmt::Debug for KernelBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KernelBuilder")
            .field("public", &self.keypair.public_hex())
            .field("policy_hash", &self.policy_hash)
            .field("registrations", &self.registrations.len())
            .finish_non_exhaustive()
    }
}

impl KernelBuilder {
    /// A builder for a kernel signing with `keypair` (taken over by the
    /// kernel) and embedding `policy_hash` in every receipt.
    pub fn new(keypair: Keypair, policy_hash: impl Into<String>) -> KernelBuilder {
        KernelBuilder {
            keypair,
            policy_hash: policy_hash.into(),
            store: StoreChoice::Unset,
            ca_keys: Vec::new(),
            max_delegation_depth: None,
            allow_sampling: false,
            allow_sampling_tool_use: false,
            allow_elicitation: false,
            max_stream_duration_secs: None,
            max_stream_total_bytes: None,
            require_web3_evidence: false,
            checkpoint_batch_size: None,
            retention: None,
            signer_threads: None,
            ring_capacity: None,
            max_batch: None,
            durability: Durability::Sync,
            log_level: None,
            log: None,
            clock: None,
            lock_key_memory: false,
            signer_priority: None,
            max_argument_bytes: None,
            signer_realtime: None,
            registrations: Vec::new(),
        }
    }

    /// Persist receipts in a RocksDB directory (created when missing).
    pub fn receipt_store(mut self, path: impl AsRef<Path>) -> Self {
        self.store = StoreChoice::Path(path.as_ref().to_path_buf());
        self
    }

    /// Keep receipts in memory only.
    pub fn ephemeral_store(mut self) -> Self {
        self.store = StoreChoice::Ephemeral;
        self
    }

    /// WAL sync policy of the receipt store.
    pub fn durability(mut self, d: Durability) -> Self {
        self.durability = d;
        self
    }

    /// Trusted capability issuers besides the kernel itself.
    pub fn ca_public_keys(mut self, keys: &[[u8; 32]]) -> Self {
        self.ca_keys = keys.to_vec();
        self
    }

    /// Longest delegation chain accepted.
    pub fn max_delegation_depth(mut self, n: u32) -> Self {
        self.max_delegation_depth = Some(n);
        self
    }

    /// Allow tools to ask for sampling (`sampling/createMessage`).
    pub fn allow_sampling(mut self, yes: bool) -> Self {
        self.allow_sampling = yes;
        self
    }

    /// Allow sampling with tool use.
    pub fn allow_sampling_tool_use(mut self, yes: bool) -> Self {
        self.allow_sampling_tool_use = yes;
        self
    }

    /// Allow elicitation (`elicitation/create`).
    pub fn allow_elicitation(mut self, yes: bool) -> Self {
        self.allow_elicitation = yes;
        self
    }

    /// Stream duration limit (0: none).
    pub fn max_stream_duration_secs(mut self, secs: u64) -> Self {
        self.max_stream_duration_secs = Some(secs);
        self
    }

    /// Stream size limit.
    pub fn max_stream_total_bytes(mut self, bytes: u64) -> Self {
        self.max_stream_total_bytes = Some(bytes);
        self
    }

    /// Require web3 evidence (needs a durable store and checkpoints).
    pub fn require_web3_evidence(mut self, yes: bool) -> Self {
        self.require_web3_evidence = yes;
        self
    }

    /// Receipts per checkpoint (0 disables checkpoints).
    pub fn checkpoint_batch_size(mut self, n: u64) -> Self {
        self.checkpoint_batch_size = Some(n);
        self
    }

    /// Enable receipt retention.
    pub fn retention(mut self, r: Retention) -> Self {
        self.retention = Some(r);
        self
    }

    /// Signer threads (1..=64).
    pub fn signer_threads(mut self, n: u32) -> Self {
        self.signer_threads = Some(n);
        self
    }

    /// Signing ring capacity (a power of two >= 2).
    pub fn ring_capacity(mut self, n: u32) -> Self {
        self.ring_capacity = Some(n);
        self
    }

    /// Receipts per signer batch (1..=65536).
    pub fn max_batch(mut self, n: u32) -> Self {
        self.max_batch = Some(n);
        self
    }

    /// Lowest level logged.
    pub fn log_level(mut self, level: LogLevel) -> Self {
        self.log_level = Some(level);
        self
    }

    /// A log sink receiving one JSON object per call (default: JSON lines on
    /// stderr). Called from any kernel thread, one call at a time, possibly
    /// under the kernel's log lock: it must not call into the kernel (such
    /// calls fail with `CHIO_EDEADLK`). Panics are caught and dropped.
    pub fn log_sink<F>(mut self, f: F) -> Self
    where
        F: Fn(LogLevel, &str) + Send + Sync + 'static,
    {
        self.log = Some(Box::new(f));
        self
    }

    /// A clock returning Unix seconds (default: wall clock). Called on the
    /// threads that call the kernel and on the kernel's own threads,
    /// possibly several at once. Must not call into the kernel (such calls
    /// fail with `CHIO_EDEADLK`). A panicking clock falls back to the wall
    /// clock.
    pub fn clock<F>(mut self, f: F) -> Self
    where
        F: Fn() -> u64 + Send + Sync + 'static,
    {
        self.clock = Some(Box::new(f));
        self
    }

    /// Refuse to build unless the signing key's pages can be mlocked
    /// (`lock_key_memory`). Default `false`: they are locked when the
    /// system permits and `key_memory_unlocked` is logged (warn) once
    /// otherwise. With `true`, a key that cannot be locked fails the build
    /// with `CHIO_ESYS` (its message names `RLIMIT_MEMLOCK`).
    pub fn lock_key_memory(mut self, yes: bool) -> Self {
        self.lock_key_memory = yes;
        self
    }

    /// Longest arguments text a call may carry (default 4 MiB,
    /// `CHIO_DEFAULT_MAX_ARGUMENT_BYTES`): longer text is not parsed and
    /// the call is denied with a receipt (`arguments_rejected`); it also
    /// bounds a tool's nested requests. Outside 1 ..= 63 MiB the build
    /// fails with `CHIO_ECONFIG`.
    pub fn max_argument_bytes(mut self, bytes: u64) -> Self {
        self.max_argument_bytes = Some(bytes);
        self
    }

    /// Nice value the kernel's signer, commit and completion threads set
    /// for themselves (`signer_priority`; default 0: inherit). Raising
    /// priority needs `CAP_SYS_NICE`; when refused they run on at the
    /// inherited priority and `signer_priority_not_applied` is logged
    /// (warn) once. Outside -20 ..= 19 the build fails with `CHIO_ECONFIG`.
    pub fn signer_priority(mut self, nice: i32) -> Self {
        self.signer_priority = Some(nice);
        self
    }

    /// Real-time scheduling of the signer threads only (`signer_realtime`;
    /// default 0: off): 1 ..= 99 makes each signer `SCHED_FIFO` at that
    /// priority. Needs `CAP_SYS_NICE` or `RLIMIT_RTPRIO`; when refused the
    /// signers run on under the normal scheduler and
    /// `signer_realtime_not_applied` is logged (warn) once. Outside
    /// 0 ..= 99 the build fails with `CHIO_ECONFIG`.
    pub fn signer_realtime(mut self, priority: i32) -> Self {
        self.signer_realtime = Some(priority);
        self
    }

    /// Registers a tool server at build time; see [`Kernel::register_tool_server`].
    pub fn tool_server<F>(self, server_id: &str, tools: &[&str], f: F) -> Self
    where
        F: Fn(&str, &str) -> Result<String, String> + Send + Sync + 'static,
    {
        self.tool_server_with_context(server_id, tools, move |_ctx, tool, args| f(tool, args))
    }

    /// Like [`KernelBuilder::tool_server`], with the call's [`ToolContext`].
    pub fn tool_server_with_context<F>(mut self, server_id: &str, tools: &[&str], f: F) -> Self
    where
        F: Fn(&ToolContext<'_>, &str, &str) -> Result<String, String> + Send + Sync + 'static,
    {
        self.registrations.push(Registration::Tool {
            id: server_id.to_owned(),
            tools: tools.iter().map(|s| (*s).to_owned()).collect(),
            f: Box::new(f),
        });
        self
    }

    /// Appends a guard; see [`Kernel::add_guard`].
    pub fn guard<F>(mut self, name: &str, f: F) -> Self
    where
        F: Fn(&GuardInput<'_>) -> GuardDecision + Send + Sync + 'static,
    {
        self.registrations.push(Registration::Guard {
            name: name.to_owned(),
            f: Box::new(f),
        });
        self
    }

    /// Appends the built-in forbidden-path guard; see [`Kernel::add_forbidden_path_guard`].
    pub fn forbidden_path_guard(mut self, name: &str, prefixes: &[&str]) -> Self {
        self.registrations.push(Registration::ForbiddenPath {
            name: name.to_owned(),
            prefixes: prefixes.iter().map(|s| (*s).to_owned()).collect(),
        });
        self
    }

    /// Appends the built-in secret-leak guard; see [`Kernel::add_secret_leak_guard`].
    pub fn secret_leak_guard(mut self, name: &str, patterns: &[&str]) -> Self {
        self.registrations.push(Registration::SecretLeak {
            name: name.to_owned(),
            patterns: patterns.iter().map(|s| (*s).to_owned()).collect(),
        });
        self
    }

    /// Sets the nested-flow handler; see [`Kernel::set_nested_handler`].
    pub fn nested_handler<F>(mut self, f: F) -> Self
    where
        F: Fn(NestedKind, &str, &str) -> Result<String, String> + Send + Sync + 'static,
    {
        self.registrations.push(Registration::Nested(Box::new(f)));
        self
    }

    /// Builds the kernel (`chio_kernel_new`), then applies the registrations
    /// in the order they were given. Starts no thread and opens nothing.
    pub fn build(self) -> Result<Kernel> {
        let KernelBuilder {
            keypair,
            policy_hash,
            store,
            ca_keys,
            max_delegation_depth,
            allow_sampling,
            allow_sampling_tool_use,
            allow_elicitation,
            max_stream_duration_secs,
            max_stream_total_bytes,
            require_web3_evidence,
            checkpoint_batch_size,
            retention,
            signer_threads,
            ring_capacity,
            max_batch,
            durability,
            log_level,
            log,
            clock,
            lock_key_memory,
            signer_priority,
            max_argument_bytes,
            signer_realtime,
            registrations,
        } = self;

        // Every fallible conversion first, so that nothing leaks on error.
        let policy = cstring(&policy_hash, "policy_hash")?;
        let store_path = match &store {
            StoreChoice::Path(p) => Some(path_cstring(p, "receipt store path")?),
            _ => None,
        };
        let archive = match retention.as_ref().and_then(|r| r.archive_path.as_ref()) {
            Some(p) => Some(path_cstring(p, "retention archive_path")?),
            None => None,
        };

        let mut cfg = std::mem::MaybeUninit::<sys::chio_kernel_config>::uninit();
        // SAFETY: config_init writes the whole struct.
        let mut cfg = unsafe {
            sys::chio_kernel_config_init(cfg.as_mut_ptr());
            cfg.assume_init()
        };
        cfg.policy_hash = policy.as_ptr();
        if !ca_keys.is_empty() {
            cfg.ca_public_keys = ca_keys.as_ptr().cast();
            cfg.n_ca_public_keys = ca_keys.len();
        }
        if let Some(n) = max_delegation_depth {
            cfg.max_delegation_depth = n;
        }
        cfg.allow_sampling = allow_sampling as c_int;
        cfg.allow_sampling_tool_use = allow_sampling_tool_use as c_int;
        cfg.allow_elicitation = allow_elicitation as c_int;
        if let Some(n) = max_stream_duration_secs {
            cfg.max_stream_duration_secs = n;
        }
        if let Some(n) = max_stream_total_bytes {
            cfg.max_stream_total_bytes = n;
        }
        cfg.require_web3_evidence = require_web3_evidence as c_int;
        if let Some(n) = checkpoint_batch_size {
            cfg.checkpoint_batch_size = n;
        }
        if let Some(r) = &retention {
            cfg.retention_config.enabled = 1;
            cfg.retention_config.retention_days = r.retention_days;
            cfg.retention_config.max_size_bytes = r.max_size_bytes;
            cfg.retention_config.archive_path =
                archive.as_ref().map_or(ptr::null(), |a| a.as_ptr());
        }
        match &store {
            StoreChoice::Unset => {}
            StoreChoice::Ephemeral => cfg.ephemeral_store = 1,
            StoreChoice::Path(_) => {
                cfg.receipt_store_path = store_path.as_ref().map_or(ptr::null(), |p| p.as_ptr());
            }
        }
        if let Some(n) = signer_threads {
            cfg.signer_threads = n;
        }
        if let Some(n) = ring_capacity {
            cfg.ring_capacity = n;
        }
        if let Some(n) = max_batch {
            cfg.max_batch = n;
        }
        cfg.durability = match durability {
            Durability::Sync => sys::CHIO_DURABILITY_SYNC,
            Durability::NoSync => sys::CHIO_DURABILITY_NOSYNC,
        };
        if let Some(l) = log_level {
            cfg.log_level = l.to_raw();
        }
        cfg.lock_key_memory = lock_key_memory as c_int;
        if let Some(n) = signer_priority {
            cfg.signer_priority = n;
        }
        if let Some(n) = max_argument_bytes {
            cfg.max_argument_bytes = n;
        }
        if let Some(n) = signer_realtime {
            cfg.signer_realtime = n;
        }
        let mut callbacks = Vec::new();
        if let Some(f) = log {
            let owned = Owned::new(LogState { f });
            cfg.log = Some(log_trampoline);
            cfg.log_ctx = owned.ptr;
            callbacks.push(owned);
        }
        if let Some(f) = clock {
            let owned = Owned::new(ClockState { f });
            cfg.clock = Some(clock_trampoline);
            cfg.clock_ctx = owned.ptr;
            callbacks.push(owned);
        }
        cfg.keypair = keypair.into_raw();

        let mut raw = ptr::null_mut();
        let mut err = new_err();
        // SAFETY: cfg is fully initialised; its strings and arrays outlive
        // the call (they are copied); the keypair is taken over in every
        // case; the log/clock contexts live in `callbacks`, which the
        // Kernel keeps until after chio_kernel_free.
        let rc = unsafe { sys::chio_kernel_new(&cfg, &mut raw, &mut err) };
        check(rc, &err)?;
        let raw = NonNull::new(raw).ok_or_else(|| Error::from_code(sys::CHIO_ENOMEM))?;
        let mut kernel = Kernel { raw, callbacks };

        for reg in registrations {
            match reg {
                Registration::Tool { id, tools, f } => {
                    let names: Vec<&str> = tools.iter().map(String::as_str).collect();
                    kernel.register_boxed_tool_server(&id, &names, f)?;
                }
                Registration::Guard { name, f } => kernel.add_boxed_guard(&name, f)?,
                Registration::ForbiddenPath { name, prefixes } => {
                    let p: Vec<&str> = prefixes.iter().map(String::as_str).collect();
                    kernel.add_forbidden_path_guard(&name, &p)?;
                }
                Registration::SecretLeak { name, patterns } => {
                    let p: Vec<&str> = patterns.iter().map(String::as_str).collect();
                    kernel.add_secret_leak_guard(&name, &p)?;
                }
                Registration::Nested(f) => kernel.set_boxed_nested_handler(f)?,
            }
        }
        Ok(kernel)
    }
}
