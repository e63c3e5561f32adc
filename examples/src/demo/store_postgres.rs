//! The [`Store`] in Postgres tables, for demos sharing `--postgres`.
//!
//! Three tables per namespace, created at start when missing: `{ns}_todos`, `{ns}_messages`
//! and `{ns}_notifications`. Every write is one statement, so concurrent processes need no
//! locks; a toggle is `SET done = NOT done`.

use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use tokio_postgres::{Client, NoTls, Row};

use super::store::{
    HISTORY, INBOX, Inbox, Message, Notification, Store, StoreError, StoreResult, Todo, now,
    sanitize,
};

/// The demo's state in Postgres; see the [module documentation](self).
pub struct PostgresStore {
    url: String,
    client: Mutex<Option<Arc<Client>>>,
    todos: String,
    messages: String,
    notifications: String,
}

fn error(e: impl std::fmt::Display) -> StoreError {
    StoreError::new("postgres", e)
}

fn id(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl PostgresStore {
    /// Connects to `url` and creates the namespace's tables if they are missing.
    ///
    /// # Errors
    /// The database cannot be reached or refuses the tables.
    pub async fn connect(url: &str, namespace: &str) -> StoreResult<PostgresStore> {
        let ns = sanitize(namespace);
        let store = PostgresStore {
            url: url.to_owned(),
            client: Mutex::new(None),
            todos: format!("\"{ns}_todos\""),
            messages: format!("\"{ns}_messages\""),
            notifications: format!("\"{ns}_notifications\""),
        };
        let client = store.client().await?;
        // Two processes starting at once must not both create a table: an advisory lock
        // serializes the creation.
        client
            .batch_execute(&format!(
                "BEGIN;
                 SELECT pg_advisory_xact_lock(7246);
                 CREATE TABLE IF NOT EXISTS {todos} (
                     id BIGSERIAL PRIMARY KEY, user_name TEXT NOT NULL,
                     title TEXT NOT NULL, done BOOLEAN NOT NULL DEFAULT false);
                 CREATE TABLE IF NOT EXISTS {messages} (
                     id BIGSERIAL PRIMARY KEY, room TEXT NOT NULL, author TEXT NOT NULL,
                     body TEXT NOT NULL, at BIGINT NOT NULL);
                 CREATE TABLE IF NOT EXISTS {notifications} (
                     id BIGSERIAL PRIMARY KEY, user_name TEXT NOT NULL, sender TEXT NOT NULL,
                     body TEXT NOT NULL, at BIGINT NOT NULL, read BOOLEAN NOT NULL DEFAULT false);
                 COMMIT;",
                todos = store.todos,
                messages = store.messages,
                notifications = store.notifications,
            ))
            .await
            .map_err(error)?;
        Ok(store)
    }

    /// Drops the namespace's tables (for tests, which use a namespace per run).
    ///
    /// # Errors
    /// The database cannot be reached.
    pub async fn drop_namespace(&self) -> StoreResult<()> {
        let sql = format!(
            "DROP TABLE IF EXISTS {}, {}, {}",
            self.todos, self.messages, self.notifications
        );
        self.client()
            .await?
            .batch_execute(&sql)
            .await
            .map_err(error)
    }

    /// The connection, opened again if it was lost.
    async fn client(&self) -> StoreResult<Arc<Client>> {
        if let Some(client) = self.lock().clone()
            && !client.is_closed()
        {
            return Ok(client);
        }
        let (client, connection) = tokio_postgres::connect(&self.url, NoTls)
            .await
            .map_err(error)?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "demo store: lost the Postgres connection");
            }
        });
        let client = Arc::new(client);
        *self.lock() = Some(client.clone());
        Ok(client)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Arc<Client>>> {
        self.client.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn query(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> StoreResult<Vec<Row>> {
        self.client().await?.query(sql, params).await.map_err(error)
    }
}

fn todo(row: &Row) -> Todo {
    Todo {
        id: id(row.get(0)),
        title: row.get(1),
        done: row.get(2),
    }
}

fn message(row: &Row) -> Message {
    Message {
        id: id(row.get(0)),
        author: row.get(1),
        text: row.get(2),
        at: id(row.get(3)),
    }
}

impl Store for PostgresStore {
    fn todos<'a>(&'a self, user: &'a str) -> BoxFuture<'a, StoreResult<Vec<Todo>>> {
        Box::pin(async move {
            let sql = format!(
                "SELECT id, title, done FROM {} WHERE user_name = $1 ORDER BY id",
                self.todos
            );
            Ok(self.query(&sql, &[&user]).await?.iter().map(todo).collect())
        })
    }

    fn add_todo<'a>(&'a self, user: &'a str, title: &'a str) -> BoxFuture<'a, StoreResult<Todo>> {
        Box::pin(async move {
            let sql = format!(
                "INSERT INTO {} (user_name, title) VALUES ($1, $2) RETURNING id, title, done",
                self.todos
            );
            let rows = self.query(&sql, &[&user, &title]).await?;
            rows.first()
                .map(todo)
                .ok_or_else(|| error("INSERT returned no row"))
        })
    }

    fn toggle_todo<'a>(&'a self, user: &'a str, id: u64) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            let sql = format!(
                "UPDATE {} SET done = NOT done WHERE user_name = $1 AND id = $2 RETURNING id",
                self.todos
            );
            Ok(!self.query(&sql, &[&user, &to_i64(id)]).await?.is_empty())
        })
    }

    fn delete_todo<'a>(&'a self, user: &'a str, id: u64) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            let sql = format!(
                "DELETE FROM {} WHERE user_name = $1 AND id = $2 RETURNING id",
                self.todos
            );
            Ok(!self.query(&sql, &[&user, &to_i64(id)]).await?.is_empty())
        })
    }

    fn add_message<'a>(
        &'a self,
        room: &'a str,
        author: &'a str,
        text: &'a str,
    ) -> BoxFuture<'a, StoreResult<Message>> {
        Box::pin(async move {
            let sql = format!(
                "INSERT INTO {} (room, author, body, at) VALUES ($1, $2, $3, $4)
                 RETURNING id, author, body, at",
                self.messages
            );
            let at = to_i64(now());
            let rows = self.query(&sql, &[&room, &author, &text, &at]).await?;
            rows.first()
                .map(message)
                .ok_or_else(|| error("INSERT returned no row"))
        })
    }

    fn messages<'a>(&'a self, room: &'a str) -> BoxFuture<'a, StoreResult<Vec<Message>>> {
        Box::pin(async move {
            let sql = format!(
                "SELECT * FROM (SELECT id, author, body, at FROM {} WHERE room = $1
                 ORDER BY id DESC LIMIT {HISTORY}) last ORDER BY id",
                self.messages
            );
            Ok(self
                .query(&sql, &[&room])
                .await?
                .iter()
                .map(message)
                .collect())
        })
    }

    fn notify<'a>(
        &'a self,
        user: &'a str,
        from: &'a str,
        text: &'a str,
    ) -> BoxFuture<'a, StoreResult<Inbox>> {
        Box::pin(async move {
            let sql = format!(
                "INSERT INTO {} (user_name, sender, body, at) VALUES ($1, $2, $3, $4)",
                self.notifications
            );
            let at = to_i64(now());
            self.query(&sql, &[&user, &from, &text, &at]).await?;
            self.inbox(user).await
        })
    }

    fn inbox<'a>(&'a self, user: &'a str) -> BoxFuture<'a, StoreResult<Inbox>> {
        Box::pin(async move {
            let sql = format!(
                "SELECT id, sender, body, at FROM {} WHERE user_name = $1
                 ORDER BY id DESC LIMIT {INBOX}",
                self.notifications
            );
            let items = self
                .query(&sql, &[&user])
                .await?
                .iter()
                .map(|row| Notification {
                    id: id(row.get(0)),
                    from: row.get(1),
                    text: row.get(2),
                    at: id(row.get(3)),
                })
                .collect();
            let sql = format!(
                "SELECT count(*) FROM {} WHERE user_name = $1 AND NOT read",
                self.notifications
            );
            let unread = self
                .query(&sql, &[&user])
                .await?
                .first()
                .map_or(0, |row| id(row.get(0)));
            Ok(Inbox { items, unread })
        })
    }

    fn mark_read<'a>(&'a self, user: &'a str) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let sql = format!(
                "UPDATE {} SET read = true WHERE user_name = $1 AND NOT read",
                self.notifications
            );
            self.query(&sql, &[&user]).await.map(drop)
        })
    }
}
