//! The [`Store`] in a NATS JetStream key-value bucket, for demos sharing `--nats`.
//!
//! One bucket per namespace, one JSON document per key: `todos.{user}`, `chat.{room}`,
//! `inbox.{user}`. A write is a compare-and-set on the key's revision (read, change, `update`
//! at the revision read; on conflict read again), so two processes writing the same key at
//! once both land.

use futures::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;

use async_nats::jetstream::{kv, stream};

use super::store::{
    HISTORY, INBOX, Inbox, Message, Notification, Store, StoreError, StoreResult, Todo, now,
    sanitize,
};

/// How many times a write retries after losing a compare-and-set race.
const ATTEMPTS: usize = 32;

/// The demo's state in NATS JetStream KV; see the [module documentation](self).
pub struct NatsStore {
    jetstream: async_nats::jetstream::Context,
    bucket: String,
    kv: kv::Store,
}

fn error(e: impl std::fmt::Display) -> StoreError {
    StoreError::new("nats", e)
}

/// A chat room's document: the last messages and the last id given.
#[derive(Default, Serialize, serde::Deserialize)]
struct Room {
    last_id: u64,
    messages: Vec<Message>,
}

/// A todo list's document.
#[derive(Default, Serialize, serde::Deserialize)]
struct List {
    last_id: u64,
    todos: Vec<Todo>,
}

/// An inbox's document.
#[derive(Default, Serialize, serde::Deserialize)]
struct InboxDoc {
    last_id: u64,
    inbox: Inbox,
}

impl NatsStore {
    /// Connects to `url` and opens (or creates) the namespace's bucket.
    ///
    /// # Errors
    /// The server cannot be reached or has no JetStream (`nats-server -js`).
    pub async fn connect(url: &str, namespace: &str) -> StoreResult<NatsStore> {
        let client = async_nats::connect(url).await.map_err(error)?;
        let jetstream = async_nats::jetstream::new(client);
        let bucket = sanitize(namespace);
        if let Ok(kv) = jetstream.get_key_value(&bucket).await {
            return Ok(NatsStore {
                jetstream,
                bucket,
                kv,
            });
        }
        // The stream a key-value bucket is made of, created directly: async-nats 0.50's
        // `create_key_value` first reads the account info, whose shape it no longer parses
        // from nats-server 2.9 ("data did not match any variant of untagged enum Response").
        jetstream
            .get_or_create_stream(stream::Config {
                name: format!("KV_{bucket}"),
                subjects: vec![format!("$KV.{bucket}.>")],
                max_messages_per_subject: 1,
                discard: stream::DiscardPolicy::New,
                allow_rollup: true,
                deny_delete: true,
                allow_direct: true,
                num_replicas: 1,
                ..Default::default()
            })
            .await
            .map_err(error)?;
        let kv = jetstream.get_key_value(&bucket).await.map_err(error)?;
        Ok(NatsStore {
            jetstream,
            bucket,
            kv,
        })
    }

    /// Deletes the namespace's bucket (for tests, which use a namespace per run).
    ///
    /// # Errors
    /// The server cannot be reached.
    pub async fn drop_namespace(&self) -> StoreResult<()> {
        self.jetstream
            .delete_stream(format!("KV_{}", self.bucket))
            .await
            .map(drop)
            .map_err(error)
    }

    async fn read<T: DeserializeOwned + Default>(&self, key: &str) -> StoreResult<(T, u64)> {
        match self.kv.entry(key).await.map_err(error)? {
            Some(entry) if entry.operation == kv::Operation::Put => {
                let value = serde_json::from_slice(&entry.value)
                    .map_err(|e| error(format!("{key} is not valid: {e}")))?;
                Ok((value, entry.revision))
            }
            _ => Ok((T::default(), 0)),
        }
    }

    /// Reads `key`, applies `change` and writes it back if nobody wrote it meanwhile.
    async fn update<T, R>(&self, key: &str, change: impl Fn(&mut T) -> R) -> StoreResult<R>
    where
        T: Serialize + DeserializeOwned + Default,
    {
        let mut last_error = None;
        for _ in 0..ATTEMPTS {
            let (mut value, revision) = self.read::<T>(key).await?;
            let result = change(&mut value);
            let bytes = serde_json::to_vec(&value).map_err(error)?.into();
            let written = if revision == 0 {
                self.kv.create(key, bytes).await.map_err(error)
            } else {
                self.kv.update(key, bytes, revision).await.map_err(error)
            };
            match written {
                Ok(_) => return Ok(result),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| error("no attempt was made")))
    }
}

impl Store for NatsStore {
    fn todos<'a>(&'a self, user: &'a str) -> BoxFuture<'a, StoreResult<Vec<Todo>>> {
        Box::pin(async move {
            let (list, _) = self.read::<List>(&format!("todos.{user}")).await?;
            Ok(list.todos)
        })
    }

    fn add_todo<'a>(&'a self, user: &'a str, title: &'a str) -> BoxFuture<'a, StoreResult<Todo>> {
        Box::pin(async move {
            self.update(&format!("todos.{user}"), |list: &mut List| {
                list.last_id += 1;
                let todo = Todo {
                    id: list.last_id,
                    title: title.to_owned(),
                    done: false,
                };
                list.todos.push(todo.clone());
                todo
            })
            .await
        })
    }

    fn toggle_todo<'a>(&'a self, user: &'a str, id: u64) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            self.update(&format!("todos.{user}"), |list: &mut List| {
                let todo = list.todos.iter_mut().find(|t| t.id == id);
                todo.map(|todo| todo.done = !todo.done).is_some()
            })
            .await
        })
    }

    fn delete_todo<'a>(&'a self, user: &'a str, id: u64) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            self.update(&format!("todos.{user}"), |list: &mut List| {
                let before = list.todos.len();
                list.todos.retain(|t| t.id != id);
                list.todos.len() < before
            })
            .await
        })
    }

    fn add_message<'a>(
        &'a self,
        room: &'a str,
        author: &'a str,
        text: &'a str,
    ) -> BoxFuture<'a, StoreResult<Message>> {
        Box::pin(async move {
            let at = now();
            self.update(&format!("chat.{room}"), |room: &mut Room| {
                room.last_id += 1;
                let message = Message {
                    id: room.last_id,
                    author: author.to_owned(),
                    text: text.to_owned(),
                    at,
                };
                room.messages.push(message.clone());
                let excess = room.messages.len().saturating_sub(HISTORY);
                room.messages.drain(..excess);
                message
            })
            .await
        })
    }

    fn messages<'a>(&'a self, room: &'a str) -> BoxFuture<'a, StoreResult<Vec<Message>>> {
        Box::pin(async move {
            let (room, _) = self.read::<Room>(&format!("chat.{room}")).await?;
            Ok(room.messages)
        })
    }

    fn notify<'a>(
        &'a self,
        user: &'a str,
        from: &'a str,
        text: &'a str,
    ) -> BoxFuture<'a, StoreResult<Inbox>> {
        Box::pin(async move {
            let at = now();
            self.update(&format!("inbox.{user}"), |doc: &mut InboxDoc| {
                doc.last_id += 1;
                doc.inbox.items.insert(
                    0,
                    Notification {
                        id: doc.last_id,
                        from: from.to_owned(),
                        text: text.to_owned(),
                        at,
                    },
                );
                doc.inbox.items.truncate(INBOX);
                doc.inbox.unread += 1;
                doc.inbox.clone()
            })
            .await
        })
    }

    fn inbox<'a>(&'a self, user: &'a str) -> BoxFuture<'a, StoreResult<Inbox>> {
        Box::pin(async move {
            let (doc, _) = self.read::<InboxDoc>(&format!("inbox.{user}")).await?;
            Ok(doc.inbox)
        })
    }

    fn mark_read<'a>(&'a self, user: &'a str) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            self.update(&format!("inbox.{user}"), |doc: &mut InboxDoc| {
                doc.inbox.unread = 0;
            })
            .await
        })
    }
}
