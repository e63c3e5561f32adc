//! Where the demo keeps its state: one small trait, [`Store`], and four implementations.
//!
//! A live view reloads current state on every wake-up, so with several processes the state
//! itself must be shared, not only the invalidations: a todo added through process A must be
//! what process B loads. [`Memory`] keeps everything in this process; [`RedisStore`],
//! [`PostgresStore`] and [`NatsStore`] keep it in the broker the processes already share
//! (Redis data structures, Postgres tables, a NATS JetStream key-value bucket). Every key or
//! table name starts with the `--namespace`, so several demos (or test runs) share a server
//! without seeing each other.
//!
//! The methods return boxed futures so that `Arc<dyn Store>` works without a macro crate.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

pub use super::store_nats::NatsStore;
pub use super::store_postgres::PostgresStore;
pub use super::store_redis::RedisStore;

/// How many chat messages a room keeps (and sends to a tab that connects).
pub const HISTORY: usize = 50;
/// How many notifications an inbox keeps.
pub const INBOX: usize = 20;

/// One item of a user's todo list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Todo {
    /// Unique within the user's list.
    pub id: u64,
    /// What to do, as typed.
    pub title: String,
    /// Whether it is done.
    pub done: bool,
}

/// A chat message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Unique within the room, increasing.
    pub id: u64,
    /// Who sent it.
    pub author: String,
    /// What they wrote.
    pub text: String,
    /// When, in seconds since the Unix epoch.
    pub at: u64,
}

/// A notification in a user's inbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Unique within the inbox, increasing.
    pub id: u64,
    /// Who sent it.
    pub from: String,
    /// What it says.
    pub text: String,
    /// When, in seconds since the Unix epoch.
    pub at: u64,
}

/// A user's notifications, newest first, and how many are unread.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inbox {
    /// The last [`INBOX`] notifications, newest first.
    pub items: Vec<Notification>,
    /// How many arrived since the user last marked them read.
    pub unread: u64,
}

/// A store failure (the broker or database said no, or is unreachable).
#[derive(Clone, Debug)]
pub struct StoreError(String);

impl StoreError {
    /// An error saying `message`, prefixed with the backend's name.
    pub fn new(backend: &str, message: impl fmt::Display) -> Self {
        StoreError(format!("{backend} store: {message}"))
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

/// What a store operation returns.
pub type StoreResult<T> = Result<T, StoreError>;

/// The demo's state: todo lists, chat rooms and notification inboxes.
pub trait Store: Send + Sync + 'static {
    /// `user`'s todos, oldest first.
    fn todos<'a>(&'a self, user: &'a str) -> BoxFuture<'a, StoreResult<Vec<Todo>>>;
    /// Adds a todo to `user`'s list.
    fn add_todo<'a>(&'a self, user: &'a str, title: &'a str) -> BoxFuture<'a, StoreResult<Todo>>;
    /// Flips a todo of `user`; `false` when there is no such todo.
    fn toggle_todo<'a>(&'a self, user: &'a str, id: u64) -> BoxFuture<'a, StoreResult<bool>>;
    /// Deletes a todo of `user`; `false` when there is no such todo.
    fn delete_todo<'a>(&'a self, user: &'a str, id: u64) -> BoxFuture<'a, StoreResult<bool>>;
    /// Appends a message to `room`, keeping the last [`HISTORY`].
    fn add_message<'a>(
        &'a self,
        room: &'a str,
        author: &'a str,
        text: &'a str,
    ) -> BoxFuture<'a, StoreResult<Message>>;
    /// The last [`HISTORY`] messages of `room`, oldest first.
    fn messages<'a>(&'a self, room: &'a str) -> BoxFuture<'a, StoreResult<Vec<Message>>>;
    /// Puts a notification in `user`'s inbox and returns the inbox.
    fn notify<'a>(
        &'a self,
        user: &'a str,
        from: &'a str,
        text: &'a str,
    ) -> BoxFuture<'a, StoreResult<Inbox>>;
    /// `user`'s inbox.
    fn inbox<'a>(&'a self, user: &'a str) -> BoxFuture<'a, StoreResult<Inbox>>;
    /// Marks every notification of `user` read.
    fn mark_read<'a>(&'a self, user: &'a str) -> BoxFuture<'a, StoreResult<()>>;
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A namespace reduced to `[a-z0-9_]`, usable in table, key and bucket names.
pub fn sanitize(namespace: &str) -> String {
    let mut out: String = namespace
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() {
        out.push_str("livestar_demo");
    }
    out
}

/// Everything in this process: lost on restart, invisible to other processes.
#[derive(Default)]
pub struct Memory {
    state: Mutex<MemoryState>,
}

#[derive(Default)]
struct MemoryState {
    next_id: u64,
    todos: HashMap<String, Vec<Todo>>,
    rooms: HashMap<String, Vec<Message>>,
    inboxes: HashMap<String, Inbox>,
}

impl MemoryState {
    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

impl Memory {
    /// An empty store.
    pub fn new() -> Self {
        Memory::default()
    }

    fn state(&self) -> MutexGuard<'_, MemoryState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Store for Memory {
    fn todos<'a>(&'a self, user: &'a str) -> BoxFuture<'a, StoreResult<Vec<Todo>>> {
        let todos = self.state().todos.get(user).cloned().unwrap_or_default();
        Box::pin(async move { Ok(todos) })
    }

    fn add_todo<'a>(&'a self, user: &'a str, title: &'a str) -> BoxFuture<'a, StoreResult<Todo>> {
        let mut state = self.state();
        let todo = Todo {
            id: state.next_id(),
            title: title.to_owned(),
            done: false,
        };
        state
            .todos
            .entry(user.to_owned())
            .or_default()
            .push(todo.clone());
        Box::pin(async move { Ok(todo) })
    }

    fn toggle_todo<'a>(&'a self, user: &'a str, id: u64) -> BoxFuture<'a, StoreResult<bool>> {
        let mut state = self.state();
        let todo = state
            .todos
            .get_mut(user)
            .and_then(|todos| todos.iter_mut().find(|t| t.id == id));
        let found = todo.map(|todo| todo.done = !todo.done).is_some();
        Box::pin(async move { Ok(found) })
    }

    fn delete_todo<'a>(&'a self, user: &'a str, id: u64) -> BoxFuture<'a, StoreResult<bool>> {
        let mut state = self.state();
        let found = state.todos.get_mut(user).is_some_and(|todos| {
            let before = todos.len();
            todos.retain(|t| t.id != id);
            todos.len() < before
        });
        Box::pin(async move { Ok(found) })
    }

    fn add_message<'a>(
        &'a self,
        room: &'a str,
        author: &'a str,
        text: &'a str,
    ) -> BoxFuture<'a, StoreResult<Message>> {
        let mut state = self.state();
        let message = Message {
            id: state.next_id(),
            author: author.to_owned(),
            text: text.to_owned(),
            at: now(),
        };
        let messages = state.rooms.entry(room.to_owned()).or_default();
        messages.push(message.clone());
        let excess = messages.len().saturating_sub(HISTORY);
        messages.drain(..excess);
        Box::pin(async move { Ok(message) })
    }

    fn messages<'a>(&'a self, room: &'a str) -> BoxFuture<'a, StoreResult<Vec<Message>>> {
        let messages = self.state().rooms.get(room).cloned().unwrap_or_default();
        Box::pin(async move { Ok(messages) })
    }

    fn notify<'a>(
        &'a self,
        user: &'a str,
        from: &'a str,
        text: &'a str,
    ) -> BoxFuture<'a, StoreResult<Inbox>> {
        let mut state = self.state();
        let note = Notification {
            id: state.next_id(),
            from: from.to_owned(),
            text: text.to_owned(),
            at: now(),
        };
        let inbox = state.inboxes.entry(user.to_owned()).or_default();
        inbox.items.insert(0, note);
        inbox.items.truncate(INBOX);
        inbox.unread += 1;
        let inbox = inbox.clone();
        Box::pin(async move { Ok(inbox) })
    }

    fn inbox<'a>(&'a self, user: &'a str) -> BoxFuture<'a, StoreResult<Inbox>> {
        let inbox = self.state().inboxes.get(user).cloned().unwrap_or_default();
        Box::pin(async move { Ok(inbox) })
    }

    fn mark_read<'a>(&'a self, user: &'a str) -> BoxFuture<'a, StoreResult<()>> {
        if let Some(inbox) = self.state().inboxes.get_mut(user) {
            inbox.unread = 0;
        }
        Box::pin(async move { Ok(()) })
    }
}

/// A shared store, as the app holds it.
pub type SharedStore = Arc<dyn Store>;

/// The same behaviours, checked against every backend; a backend whose server is unreachable
/// is skipped (or fails, with `LIVESTAR_REQUIRE_SERVICES=1`).
#[cfg(test)]
mod tests {
    use super::*;

    fn namespace() -> String {
        format!("lstest-store-{:016x}", fastrand::u64(..))
    }

    fn env_or(name: &str, default: &str) -> String {
        std::env::var(name).unwrap_or_else(|_| default.to_owned())
    }

    /// Every backend reachable here, each on a fresh namespace, dropped when the test ends.
    struct Backends {
        stores: Vec<(&'static str, SharedStore)>,
        redis: Option<Arc<RedisStore>>,
        postgres: Option<Arc<PostgresStore>>,
        nats: Option<Arc<NatsStore>>,
    }

    impl Backends {
        async fn drop_namespaces(self) {
            if let Some(redis) = self.redis {
                redis.drop_namespace().await.expect("redis cleanup");
            }
            if let Some(postgres) = self.postgres {
                postgres.drop_namespace().await.expect("postgres cleanup");
            }
            if let Some(nats) = self.nats {
                nats.drop_namespace().await.expect("nats cleanup");
            }
        }
    }

    fn reachable<T>(name: &str, store: StoreResult<T>) -> Option<Arc<T>> {
        let required = std::env::var("LIVESTAR_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
        match store {
            Ok(store) => Some(Arc::new(store)),
            Err(error) if !required => {
                eprintln!("SKIPPED the {name} store: {error}");
                None
            }
            Err(error) => panic!("the {name} store is required but unavailable: {error}"),
        }
    }

    async fn backends() -> Backends {
        let ns = namespace();
        let redis = reachable(
            "redis",
            RedisStore::connect(&env_or("LIVESTAR_REDIS_URL", "redis://127.0.0.1:6379"), &ns).await,
        );
        let postgres = reachable(
            "postgres",
            PostgresStore::connect(
                &env_or(
                    "LIVESTAR_POSTGRES_URL",
                    "postgres://postgres@127.0.0.1:5432/test",
                ),
                &ns,
            )
            .await,
        );
        let nats = reachable(
            "nats",
            NatsStore::connect(&env_or("LIVESTAR_NATS_URL", "nats://127.0.0.1:4222"), &ns).await,
        );
        let mut stores: Vec<(&'static str, SharedStore)> =
            vec![("memory", Arc::new(Memory::new()))];
        if let Some(store) = &redis {
            stores.push(("redis", store.clone()));
        }
        if let Some(store) = &postgres {
            stores.push(("postgres", store.clone()));
        }
        if let Some(store) = &nats {
            stores.push(("nats", store.clone()));
        }
        Backends {
            stores,
            redis,
            postgres,
            nats,
        }
    }

    #[tokio::test]
    async fn todos_are_added_toggled_and_deleted_per_user() {
        let backends = backends().await;
        for &(name, ref store) in &backends.stores {
            let milk = store.add_todo("alice", "milk").await.expect(name);
            let eggs = store.add_todo("alice", "eggs").await.expect(name);
            store.add_todo("bob", "bob's").await.expect(name);
            assert!(
                store.toggle_todo("alice", milk.id).await.expect(name),
                "{name}"
            );
            assert!(
                store.delete_todo("alice", eggs.id).await.expect(name),
                "{name}"
            );
            let todos = store.todos("alice").await.expect(name);
            assert_eq!(
                todos,
                [Todo {
                    id: milk.id,
                    title: "milk".into(),
                    done: true
                }],
                "{name}"
            );
            assert_eq!(store.todos("bob").await.expect(name).len(), 1, "{name}");
        }
        backends.drop_namespaces().await;
    }

    #[tokio::test]
    async fn toggling_or_deleting_another_users_todo_finds_nothing() {
        let backends = backends().await;
        for &(name, ref store) in &backends.stores {
            let todo = store.add_todo("alice", "mine").await.expect(name);
            assert!(
                !store.toggle_todo("bob", todo.id).await.expect(name),
                "{name}"
            );
            assert!(
                !store.delete_todo("bob", todo.id).await.expect(name),
                "{name}"
            );
            assert!(!store.todos("alice").await.expect(name)[0].done, "{name}");
        }
        backends.drop_namespaces().await;
    }

    #[tokio::test]
    async fn a_room_keeps_its_last_50_messages_in_order() {
        let backends = backends().await;
        for &(name, ref store) in &backends.stores {
            for i in 0..HISTORY + 5 {
                store
                    .add_message("general", "ann", &i.to_string())
                    .await
                    .expect(name);
            }
            store
                .add_message("other", "ann", "elsewhere")
                .await
                .expect(name);
            let texts: Vec<String> = store
                .messages("general")
                .await
                .expect(name)
                .into_iter()
                .map(|m| m.text)
                .collect();
            let expected: Vec<String> = (5..HISTORY + 5).map(|i| i.to_string()).collect();
            assert_eq!(texts, expected, "{name}");
        }
        backends.drop_namespaces().await;
    }

    #[tokio::test]
    async fn notifications_count_unread_until_marked_read() {
        let backends = backends().await;
        for &(name, ref store) in &backends.stores {
            store.notify("alice", "bob", "one").await.expect(name);
            let inbox = store.notify("alice", "bob", "two").await.expect(name);
            assert_eq!(inbox.unread, 2, "{name}");
            let texts: Vec<&str> = inbox.items.iter().map(|n| n.text.as_str()).collect();
            assert_eq!(texts, ["two", "one"], "{name}");
            store.mark_read("alice").await.expect(name);
            let inbox = store.inbox("alice").await.expect(name);
            assert_eq!((inbox.unread, inbox.items.len()), (0, 2), "{name}");
            assert_eq!(
                store.inbox("bob").await.expect(name),
                Inbox::default(),
                "{name}"
            );
        }
        backends.drop_namespaces().await;
    }
}
