//! The [`Store`] in Redis data structures, for demos sharing `--redis`.
//!
//! | state | Redis | key |
//! |---|---|---|
//! | a user's todos | hash, todo id -> JSON | `{ns}:todos:{user}` |
//! | todo, message and notification ids | counter (`INCR`) | `{ns}:seq` |
//! | a room's last 50 messages | list (`RPUSH` + `LTRIM`) | `{ns}:chat:{room}` |
//! | a user's last 20 notifications | list (`LPUSH` + `LTRIM`) | `{ns}:inbox:{user}` |
//! | a user's unread count | counter | `{ns}:unread:{user}` |
//!
//! A toggle reads and writes a todo in one Lua script, so two tabs toggling at once do not lose
//! an update.

use std::sync::Mutex;
use std::time::Duration;

use futures::future::BoxFuture;
use redis::aio::MultiplexedConnection;

use super::store::{
    HISTORY, INBOX, Inbox, Message, Notification, Store, StoreError, StoreResult, Todo, now,
};

const TOGGLE: &str = r#"
local json = redis.call('HGET', KEYS[1], ARGV[1])
if not json then return 0 end
local todo = cjson.decode(json)
todo.done = not todo.done
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(todo))
return 1
"#;

/// The demo's state in Redis; see the [module documentation](self).
pub struct RedisStore {
    client: redis::Client,
    connection: Mutex<Option<MultiplexedConnection>>,
    namespace: String,
}

fn error(e: impl std::fmt::Display) -> StoreError {
    StoreError::new("redis", e)
}

fn decode<T: serde::de::DeserializeOwned>(json: &str) -> StoreResult<T> {
    serde_json::from_str(json).map_err(|e| error(format!("a stored value is not valid: {e}")))
}

fn encode<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(error)
}

impl RedisStore {
    /// Connects to `url` and checks the server answers; keys start with `namespace`.
    ///
    /// # Errors
    /// The URL does not parse or the server cannot be reached.
    pub async fn connect(url: &str, namespace: &str) -> StoreResult<RedisStore> {
        let store = RedisStore {
            client: redis::Client::open(url).map_err(error)?,
            connection: Mutex::new(None),
            namespace: namespace.to_owned(),
        };
        store.connection().await?;
        Ok(store)
    }

    async fn connection(&self) -> StoreResult<MultiplexedConnection> {
        if let Some(connection) = self.lock().clone() {
            return Ok(connection);
        }
        let connection = tokio::time::timeout(
            Duration::from_secs(5),
            self.client.get_multiplexed_async_connection(),
        )
        .await
        .map_err(|_| error("connection timed out"))?
        .map_err(error)?;
        *self.lock() = Some(connection.clone());
        Ok(connection)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<MultiplexedConnection>> {
        self.connection.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `command`; a failure forgets the connection, so the next call reconnects.
    async fn query<T: redis::FromRedisValue>(&self, command: &redis::Cmd) -> StoreResult<T> {
        let mut connection = self.connection().await?;
        let result = command.query_async(&mut connection).await;
        if result.is_err() {
            *self.lock() = None;
        }
        result.map_err(error)
    }

    async fn query_pipe<T: redis::FromRedisValue>(&self, pipe: &redis::Pipeline) -> StoreResult<T> {
        let mut connection = self.connection().await?;
        let result = pipe.query_async(&mut connection).await;
        if result.is_err() {
            *self.lock() = None;
        }
        result.map_err(error)
    }

    /// Deletes every key of the namespace (for tests, which use a namespace per run).
    ///
    /// # Errors
    /// The server cannot be reached.
    pub async fn drop_namespace(&self) -> StoreResult<()> {
        let mut cursor = 0_u64;
        loop {
            let (next, keys): (u64, Vec<String>) = self
                .query(
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(format!("{}:*", self.namespace))
                        .arg("COUNT")
                        .arg(500),
                )
                .await?;
            if !keys.is_empty() {
                let _: i64 = self.query(redis::cmd("DEL").arg(keys)).await?;
            }
            if next == 0 {
                return Ok(());
            }
            cursor = next;
        }
    }

    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}:{kind}:{id}", self.namespace)
    }

    async fn next_id(&self) -> StoreResult<u64> {
        self.query(redis::cmd("INCR").arg(format!("{}:seq", self.namespace)))
            .await
    }
}

impl Store for RedisStore {
    fn todos<'a>(&'a self, user: &'a str) -> BoxFuture<'a, StoreResult<Vec<Todo>>> {
        Box::pin(async move {
            let values: Vec<String> = self
                .query(redis::cmd("HVALS").arg(self.key("todos", user)))
                .await?;
            let mut todos = values
                .iter()
                .map(|json| decode::<Todo>(json))
                .collect::<StoreResult<Vec<_>>>()?;
            todos.sort_by_key(|todo| todo.id);
            Ok(todos)
        })
    }

    fn add_todo<'a>(&'a self, user: &'a str, title: &'a str) -> BoxFuture<'a, StoreResult<Todo>> {
        Box::pin(async move {
            let todo = Todo {
                id: self.next_id().await?,
                title: title.to_owned(),
                done: false,
            };
            let () = self
                .query(
                    redis::cmd("HSET")
                        .arg(self.key("todos", user))
                        .arg(todo.id)
                        .arg(encode(&todo)?),
                )
                .await
                .map(|_: i64| ())?;
            Ok(todo)
        })
    }

    fn toggle_todo<'a>(&'a self, user: &'a str, id: u64) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            let found: i64 = self
                .query(
                    redis::cmd("EVAL")
                        .arg(TOGGLE)
                        .arg(1)
                        .arg(self.key("todos", user))
                        .arg(id),
                )
                .await?;
            Ok(found == 1)
        })
    }

    fn delete_todo<'a>(&'a self, user: &'a str, id: u64) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            let removed: i64 = self
                .query(redis::cmd("HDEL").arg(self.key("todos", user)).arg(id))
                .await?;
            Ok(removed == 1)
        })
    }

    fn add_message<'a>(
        &'a self,
        room: &'a str,
        author: &'a str,
        text: &'a str,
    ) -> BoxFuture<'a, StoreResult<Message>> {
        Box::pin(async move {
            let message = Message {
                id: self.next_id().await?,
                author: author.to_owned(),
                text: text.to_owned(),
                at: now(),
            };
            let key = self.key("chat", room);
            let mut pipe = redis::pipe();
            pipe.atomic()
                .cmd("RPUSH")
                .arg(&key)
                .arg(encode(&message)?)
                .ignore()
                .cmd("LTRIM")
                .arg(&key)
                .arg(-(HISTORY as i64))
                .arg(-1)
                .ignore();
            let () = self.query_pipe(&pipe).await?;
            Ok(message)
        })
    }

    fn messages<'a>(&'a self, room: &'a str) -> BoxFuture<'a, StoreResult<Vec<Message>>> {
        Box::pin(async move {
            let values: Vec<String> = self
                .query(
                    redis::cmd("LRANGE")
                        .arg(self.key("chat", room))
                        .arg(-(HISTORY as i64))
                        .arg(-1),
                )
                .await?;
            values.iter().map(|json| decode(json)).collect()
        })
    }

    fn notify<'a>(
        &'a self,
        user: &'a str,
        from: &'a str,
        text: &'a str,
    ) -> BoxFuture<'a, StoreResult<Inbox>> {
        Box::pin(async move {
            let note = Notification {
                id: self.next_id().await?,
                from: from.to_owned(),
                text: text.to_owned(),
                at: now(),
            };
            let key = self.key("inbox", user);
            let mut pipe = redis::pipe();
            pipe.atomic()
                .cmd("LPUSH")
                .arg(&key)
                .arg(encode(&note)?)
                .ignore()
                .cmd("LTRIM")
                .arg(&key)
                .arg(0)
                .arg(INBOX as i64 - 1)
                .ignore()
                .cmd("INCR")
                .arg(self.key("unread", user))
                .ignore();
            let () = self.query_pipe(&pipe).await?;
            self.inbox(user).await
        })
    }

    fn inbox<'a>(&'a self, user: &'a str) -> BoxFuture<'a, StoreResult<Inbox>> {
        Box::pin(async move {
            let mut pipe = redis::pipe();
            pipe.cmd("LRANGE")
                .arg(self.key("inbox", user))
                .arg(0)
                .arg(-1)
                .cmd("GET")
                .arg(self.key("unread", user));
            let (items, unread): (Vec<String>, Option<u64>) = self.query_pipe(&pipe).await?;
            Ok(Inbox {
                items: items
                    .iter()
                    .map(|json| decode(json))
                    .collect::<StoreResult<_>>()?,
                unread: unread.unwrap_or(0),
            })
        })
    }

    fn mark_read<'a>(&'a self, user: &'a str) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let () = self
                .query(redis::cmd("SET").arg(self.key("unread", user)).arg(0))
                .await
                .map(|_: String| ())?;
            Ok(())
        })
    }
}
