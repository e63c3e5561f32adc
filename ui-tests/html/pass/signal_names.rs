use livestar::prelude::*;

fn main() {
    let id = "x'),window.pwned=1,('";
    let step = 2;
    let html = html! {
        <input data-bind:user-name>
        <input data-bind="userName">
        <div data-signals:form.email="''"></div>
        <div data-signals:item-1__case.kebab="0"></div>
        <div data-signals:item_1="0"></div>
        <div data-ref:panel></div>
        <div data-indicator="saving"></div>
        <span data-text="'Price: $5, ' + `costs $6` + `${$price}` + $user.name"></span>
        <span data-text="$count - 1 /* not $1 */"></span>
        <span data-text=r"$s.replace(/\$1['\$]/g, '$2')"></span>
        <span data-show="Object.keys($).length > 0 && $todos.0.done"></span>
        <button data-on:click={livestar::js!("@post('/t/' + {id})")}>"post"</button>
        <button data-on:click={livestar::js!("@post(`/t/${{{id}}}`) // sends $1")}>"post"</button>
        <button data-on:click={livestar::js!("$count = $count - {step}; $label = '{{$5}}'")}>"-"</button>
    };
    let out = html.as_str();
    assert!(out.contains(r#"data-on:click="@post(&#39;/t/&#39; + &quot;x&#39;),window.pwned=1,(&#39;&quot;)""#), "{out}");
    assert!(out.contains(r#"data-on:click="$count = $count - 2; $label = &#39;{$5}&#39;""#), "{out}");
}
