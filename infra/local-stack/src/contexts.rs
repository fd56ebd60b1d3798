//! Each function's context, as its own cold start would build it: the stack's configuration with
//! the function's name (`AWS_LAMBDA_FUNCTION_NAME`), so that it signs its AWS calls with its own
//! credentials and the stand-ins hold it to its own policy ([`crate::iam`]). Contexts are built
//! on a function's first invocation and share the stack's connection pool, clock and call
//! counters.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use shared::AppContext;
use shared::config::Config;
use shared::routes::{Function, Trigger};

pub struct Contexts {
    base: Arc<AppContext>,
    env: BTreeMap<String, String>,
    /// A trigger's address (the route, worker, job, stream consumer or WebSocket route inside a
    /// `static Function`) → its function.
    by_trigger: HashMap<usize, &'static Function>,
    built: Mutex<HashMap<&'static str, Arc<AppContext>>>,
}

fn address<T>(x: &T) -> usize {
    std::ptr::from_ref(x) as *const () as usize
}

fn trigger_address(f: &Function) -> usize {
    match &f.trigger {
        Trigger::Http(r) => address(r),
        Trigger::Sqs(w) => address(w),
        Trigger::Stream(c) => address(c),
        Trigger::Schedule(j) => address(j),
        Trigger::WebSocket(ws) => address(ws),
    }
}

impl Contexts {
    pub fn new(base: Arc<AppContext>, env: BTreeMap<String, String>, functions: &[&'static Function]) -> Arc<Self> {
        let by_trigger = functions.iter().map(|f| (trigger_address(f), *f)).collect();
        Arc::new(Contexts { base, env, by_trigger, built: Mutex::default() })
    }

    /// The context of the function whose trigger `trigger` is (a `&Route`, `&Worker`, `&Job`,
    /// `&StreamConsumer` or `&WsRoute` from the catalogue).
    pub fn of_trigger<T>(&self, trigger: &'static T) -> Arc<AppContext> {
        match self.by_trigger.get(&address(trigger)) {
            Some(f) => self.of(f),
            None => {
                tracing::error!("a trigger of no function in the catalogue: run with the stack's own identity");
                self.base.clone()
            }
        }
    }

    /// The context of `f`.
    pub fn of(&self, f: &'static Function) -> Arc<AppContext> {
        let mut built = self.built.lock().expect("contexts");
        if let Some(ctx) = built.get(f.binary) {
            return ctx.clone();
        }
        let env = self.env.clone();
        let lookup = move |k: &str| {
            if k == "AWS_LAMBDA_FUNCTION_NAME" { Some(f.binary.to_string()) } else { env.get(k).cloned() }
        };
        let ctx = match Config::from_lookup(lookup) {
            Ok(config) => Arc::new(self.base.for_function(config)),
            Err(e) => {
                tracing::error!(function = f.binary, error = %e, "no configuration for the function");
                self.base.clone()
            }
        };
        built.insert(f.binary, ctx.clone());
        ctx
    }
}
