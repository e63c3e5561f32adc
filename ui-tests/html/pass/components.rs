use livestar::prelude::*;
use livestar::render::{Lazy, each};

struct Todo {
    title: String,
    done: bool,
}

fn todo_item(todo: &Todo) -> Html {
    html! { <li class={if todo.done { "done" } else { "open" }}>{&todo.title}</li> }
}

fn todo_list(todos: &[Todo]) -> Html {
    html! {
        <ul id="todos">
            @for todo in todos {
                {todo_item(todo)}
            }
        </ul>
    }
}

fn todo_count(todos: &[Todo]) -> impl Render {
    lazy_html! { <b>{todos.iter().filter(|t| !t.done).count()}" open"</b> }
}

struct Badge(u32);

impl Render for Badge {
    fn render_to(&self, buf: &mut String) {
        html! { <span class="badge">{self.0}</span> }.render_to(buf);
    }
}

fn main() {
    let todos = vec![
        Todo {
            title: "a < b".into(),
            done: true,
        },
        Todo {
            title: "c".into(),
            done: false,
        },
    ];
    let star = Lazy(|buf: &mut String| buf.push('*'));
    let html = html! {
        <main>
            {todo_list(&todos)}
            {Badge(2)}
            {html! { <i>"inlined"</i> }}
            {star}
            {each(todos.iter().map(|t| t.done))}
            {todo_count(&todos)}
        </main>
    };
    assert_eq!(
        html.as_str(),
        r#"<main><ul id="todos"><li class="done">a &lt; b</li><li class="open">c</li></ul><span class="badge">2</span><i>inlined</i>*truefalse<b>1 open</b></main>"#
    );
}
