use livestar::prelude::*;

fn main() {
    let html = html! {
        <div data-signals="{count: 0, message: ''}" data-signals:total={10}>
            <input data-bind:message data-bind="other" data-on:keydown__debounce.500ms.leading="@get('/search')">
            <button data-on:click="$count++" data-on:submit__prevent__stop="@post('/x')"
                data-indicator:loading data-attr:aria-label="$message">"+"</button>
            <span data-text="$count" data-show="$count > 0" data-class:active="$count > 1"></span>
            <div data-init="@get('/feed')" data-init__delay.1s="@get('/later')"></div>
            <div data-on-interval__duration.5s.leading="@get('/poll')"></div>
            <div data-on-intersect__once__half="@get('/more')" data-on-signal-patch__debounce.1s="x()"></div>
            <div data-computed:total="$a + $b" data-effect="console.log($total)" data-ref:box></div>
            <pre data-json-signals__terse data-ignore-morph data-ignore__self></pre>
            <details open data-preserve-attr="open" data-style:display="$hide && 'none'"></details>
            <div data-on:widget-loaded__case.camel="x()" data-on:click__window__throttle.1s.noleading="y()"></div>
            <div data-persist__session data-query-string__filter__history data-scroll-into-view__smooth__vcenter
                data-on-raf__throttle.100ms="z()" data-replace-url="`/page`" data-animate__anything></div>
            <div data-id="7" data-test="x" data-foo:bar__baz="free" "data-onn:anything__goes"="quoted"></div>
        </div>
    };
    assert!(
        html.as_str()
            .starts_with(r#"<div data-signals="{count: 0, message: ''}" data-signals:total="10">"#)
    );
    assert!(
        html.as_str()
            .contains(r#"data-on:keydown__debounce.500ms.leading="@get('/search')""#)
    );
    assert!(html.as_str().contains(r#"data-show="$count > 0""#));
    assert!(
        html.as_str()
            .contains(r#"data-style:display="$hide &amp;&amp; 'none'""#)
    );
    assert!(
        html.as_str()
            .contains(r#"data-onn:anything__goes="quoted""#)
    );
}
