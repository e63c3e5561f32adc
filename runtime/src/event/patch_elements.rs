//! The `datastar-patch-elements` event.

use std::borrow::Cow;

use bytes::BytesMut;

use super::{Common, ContentId, Event, PATCH_ELEMENTS, sse};
use crate::render::Render;

/// How patched elements are put into the page.
///
/// ```
/// use livestar::event::Mode;
///
/// assert_eq!(Mode::default(), Mode::Outer);
/// assert_eq!(Mode::Append.as_str(), "append");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Morphs the matching element, keeping focus and state where it can (the default).
    #[default]
    Outer,
    /// Morphs the children of the matching element.
    Inner,
    /// Replaces the matching element without morphing.
    Replace,
    /// Inserts the elements as first children of the target.
    Prepend,
    /// Inserts the elements as last children of the target.
    Append,
    /// Inserts the elements before the target.
    Before,
    /// Inserts the elements after the target.
    After,
    /// Removes the target.
    Remove,
}

impl Mode {
    /// The mode's name in the protocol.
    ///
    /// ```
    /// assert_eq!(livestar::event::Mode::Inner.as_str(), "inner");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Outer => "outer",
            Mode::Inner => "inner",
            Mode::Replace => "replace",
            Mode::Prepend => "prepend",
            Mode::Append => "append",
            Mode::Before => "before",
            Mode::After => "after",
            Mode::Remove => "remove",
        }
    }
}

impl std::str::FromStr for Mode {
    type Err = UnknownName;

    /// Parses a mode's protocol name.
    ///
    /// ```
    /// use livestar::event::Mode;
    ///
    /// assert_eq!("append".parse::<Mode>(), Ok(Mode::Append));
    /// assert!("sideways".parse::<Mode>().is_err());
    /// ```
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Ok(match name {
            "outer" => Mode::Outer,
            "inner" => Mode::Inner,
            "replace" => Mode::Replace,
            "prepend" => Mode::Prepend,
            "append" => Mode::Append,
            "before" => Mode::Before,
            "after" => Mode::After,
            "remove" => Mode::Remove,
            _ => return Err(UnknownName(name.to_owned())),
        })
    }
}

/// The namespace patched elements are created in.
///
/// ```
/// use livestar::event::Namespace;
///
/// assert_eq!(Namespace::Svg.as_str(), "svg");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Namespace {
    /// HTML elements (the default).
    #[default]
    Html,
    /// SVG elements, for patching inside an `<svg>`.
    Svg,
    /// MathML elements.
    MathMl,
}

impl Namespace {
    /// The namespace's name in the protocol.
    ///
    /// ```
    /// assert_eq!(livestar::event::Namespace::MathMl.as_str(), "mathml");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Namespace::Html => "html",
            Namespace::Svg => "svg",
            Namespace::MathMl => "mathml",
        }
    }
}

impl std::str::FromStr for Namespace {
    type Err = UnknownName;

    /// Parses a namespace's protocol name.
    ///
    /// ```
    /// use livestar::event::Namespace;
    ///
    /// assert_eq!("svg".parse::<Namespace>(), Ok(Namespace::Svg));
    /// ```
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Ok(match name {
            "html" => Namespace::Html,
            "svg" => Namespace::Svg,
            "mathml" => Namespace::MathMl,
            _ => return Err(UnknownName(name.to_owned())),
        })
    }
}

/// A mode or namespace name the protocol does not define.
///
/// ```
/// use livestar::event::Mode;
///
/// let err = "sideways".parse::<Mode>().unwrap_err();
/// assert_eq!(err.to_string(), "unknown name `sideways`");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownName(pub String);

impl std::fmt::Display for UnknownName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown name `{}`", self.0)
    }
}

impl std::error::Error for UnknownName {}

/// A `datastar-patch-elements` event being built; see [`Event::patch_elements`].
///
/// ```
/// use livestar::event::{Event, Mode, Namespace};
/// use livestar::render::Html;
///
/// let event: Event = Event::patch_elements(Html::from_trusted("<circle r=\"4\"/>".into()))
///     .selector("#chart")
///     .mode(Mode::Inner)
///     .namespace(Namespace::Svg)
///     .use_view_transition(true)
///     .into();
/// assert_eq!(
///     event.as_str(),
///     "event: datastar-patch-elements\n\
///      data: selector #chart\n\
///      data: mode inner\n\
///      data: useViewTransition true\n\
///      data: namespace svg\n\
///      data: elements <circle r=\"4\"/>\n\n"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use = "an event does nothing until it is sent"]
pub struct PatchElements {
    common: Common,
    pub(crate) elements: Option<String>,
    // A live view's selector is a `&'static str` from its attribute: borrowed, not copied
    // into every patch.
    pub(crate) selector: Option<Cow<'static, str>>,
    pub(crate) mode: Mode,
    pub(crate) namespace: Namespace,
    pub(crate) use_view_transition: bool,
    view_transition_selector: Option<String>,
}

impl PatchElements {
    /// Patches `elements`, rendered now (an [`Html`](crate::render::Html) is taken as is, not
    /// copied).
    ///
    /// ```
    /// use livestar::event::{Event, PatchElements};
    /// use livestar::prelude::*;
    ///
    /// let user = "<script>";
    /// let event: Event = PatchElements::new(html! { <b id="user">{user}</b> }).into();
    /// assert!(event.as_str().ends_with("data: elements <b id=\"user\">&lt;script&gt;</b>\n\n"));
    /// ```
    pub fn new(elements: impl Render) -> Self {
        Self::from_html(elements.render_owned())
    }

    /// Patches HTML that was rendered already (it is sent as is; empty HTML sends no
    /// `elements` line).
    ///
    /// ```
    /// use livestar::event::PatchElements;
    ///
    /// let patch = PatchElements::from_html("<p id=\"a\">1</p>".to_string());
    /// assert_eq!(patch.html(), Some("<p id=\"a\">1</p>"));
    /// ```
    pub fn from_html(html: String) -> Self {
        PatchElements {
            common: Common::default(),
            elements: Some(html),
            selector: None,
            mode: Mode::Outer,
            namespace: Namespace::Html,
            use_view_transition: false,
            view_transition_selector: None,
        }
    }

    /// Removes the elements matching `selector`.
    ///
    /// ```
    /// use livestar::event::{Mode, PatchElements};
    ///
    /// assert_eq!(PatchElements::remove("#x").html(), None);
    /// ```
    pub fn remove(selector: impl Into<String>) -> Self {
        PatchElements {
            elements: None,
            selector: Some(Cow::Owned(selector.into())),
            mode: Mode::Remove,
            ..Self::from_html(String::new())
        }
    }

    /// Targets the elements matching a CSS selector instead of the patched elements' ids.
    /// Required for every mode but [`Mode::Outer`] and [`Mode::Replace`]. Line breaks in it are
    /// replaced by spaces.
    ///
    /// ```
    /// use livestar::event::{Event, Mode};
    ///
    /// let event: Event = Event::remove_elements("#old").selector(".stale").into();
    /// assert!(event.as_str().contains("data: selector .stale\n"));
    /// ```
    pub fn selector(mut self, selector: impl Into<String>) -> Self {
        self.selector = Some(Cow::Owned(selector.into()));
        self
    }

    /// Sets how the elements are put into the page.
    ///
    /// ```
    /// use livestar::event::{Event, Mode};
    /// use livestar::render::Html;
    ///
    /// let event: Event = Event::patch_elements(Html::from_trusted("<li>x</li>".into()))
    ///     .selector("ul")
    ///     .mode(Mode::Prepend)
    ///     .into();
    /// assert!(event.as_str().contains("data: mode prepend\n"));
    /// ```
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Sets the namespace new elements are created in (for SVG or MathML fragments).
    ///
    /// ```
    /// use livestar::event::{Event, Namespace};
    /// use livestar::render::Html;
    ///
    /// let event: Event = Event::patch_elements(Html::from_trusted("<g id=\"g\"></g>".into()))
    ///     .namespace(Namespace::Svg)
    ///     .into();
    /// assert!(event.as_str().contains("data: namespace svg\n"));
    /// ```
    pub fn namespace(mut self, namespace: Namespace) -> Self {
        self.namespace = namespace;
        self
    }

    /// Runs the patch inside a view transition, where the browser supports them.
    ///
    /// ```
    /// use livestar::event::Event;
    ///
    /// let event: Event = Event::remove_elements("#a").use_view_transition(true).into();
    /// assert!(event.as_str().contains("data: useViewTransition true\n"));
    /// ```
    pub fn use_view_transition(mut self, on: bool) -> Self {
        self.use_view_transition = on;
        self
    }

    /// Names the element whose scoped view transition runs the patch (sent only with
    /// [`use_view_transition`](Self::use_view_transition), as `viewTransitionSelector`, the
    /// name the Datastar SDKs use; the Datastar 1.0.1 client ignores it and runs a document
    /// transition).
    ///
    /// ```
    /// use livestar::event::Event;
    ///
    /// let event: Event = Event::remove_elements("#a")
    ///     .use_view_transition(true)
    ///     .view_transition_selector("#list")
    ///     .into();
    /// assert!(event.as_str().contains("data: viewTransitionSelector #list\n"));
    /// ```
    pub fn view_transition_selector(mut self, selector: impl Into<String>) -> Self {
        self.view_transition_selector = Some(selector.into());
        self
    }

    /// The HTML this event patches, if any.
    ///
    /// ```
    /// use livestar::event::Event;
    /// use livestar::render::Html;
    ///
    /// let patch = Event::patch_elements(Html::from_trusted("<b>x</b>".into()));
    /// assert_eq!(patch.html(), Some("<b>x</b>"));
    /// ```
    pub fn html(&self) -> Option<&str> {
        self.elements.as_deref()
    }

    super::common_builder_methods!();

    pub(super) fn set_common(&mut self, common: Common) {
        self.common = common;
    }

    /// Sets the `id` to a [`ContentId`], written as 16 hex digits (as a live view does for
    /// every patch). It replaces any [`id`](Self::id) set before.
    ///
    /// ```
    /// use livestar::event::{ContentId, Event, PatchElements};
    ///
    /// let html = "<p id=\"n\">1</p>".to_string();
    /// let id = ContentId::of(&html);
    /// let event: Event = PatchElements::from_html(html).content_id(id).into();
    /// assert_eq!(
    ///     event.as_str(),
    ///     "event: datastar-patch-elements\nid: deba986c8577ee69\ndata: elements <p id=\"n\">1</p>\n\n"
    /// );
    /// ```
    pub fn content_id(mut self, id: ContentId) -> Self {
        self.common.id = Some(super::EventId::Content(id));
        self
    }

    /// A live view's patch, encoded: its HTML (borrowed from the buffer the view renders
    /// into, which the live view keeps for its next render) and content id, with the live
    /// view's mode and selector.
    pub(crate) fn encode_live(
        html: &str,
        id: ContentId,
        mode: Mode,
        selector: Option<&'static str>,
    ) -> Event {
        PatchElements {
            elements: None,
            selector: selector.map(Cow::Borrowed),
            mode,
            ..Self::from_html(String::new()).content_id(id)
        }
        .encode_with(Some(html))
    }

    /// Encodes the event.
    ///
    /// ```
    /// use livestar::event::Event;
    ///
    /// let event = Event::remove_elements("#a").encode();
    /// assert!(event.as_str().starts_with("event: datastar-patch-elements\n"));
    /// ```
    pub fn encode(&self) -> Event {
        self.encode_with(self.elements.as_deref())
    }

    /// Encodes the event with `elements` in place of its own.
    fn encode_with(&self, elements: Option<&str>) -> Event {
        let size = elements.map_or(0, str::len);
        let mut buf: BytesMut = self.common.start(PATCH_ELEMENTS, size + size / 32);
        if let Some(selector) = &self.selector {
            sse::single_line_data(&mut buf, "selector", selector);
        }
        if self.mode != Mode::Outer {
            buf.extend_from_slice(b"data: mode ");
            buf.extend_from_slice(self.mode.as_str().as_bytes());
            buf.extend_from_slice(b"\n");
        }
        if self.use_view_transition {
            buf.extend_from_slice(b"data: useViewTransition true\n");
            if let Some(selector) = &self.view_transition_selector {
                sse::single_line_data(&mut buf, "viewTransitionSelector", selector);
            }
        }
        if self.namespace != Namespace::Html {
            buf.extend_from_slice(b"data: namespace ");
            buf.extend_from_slice(self.namespace.as_str().as_bytes());
            buf.extend_from_slice(b"\n");
        }
        if let Some(elements) = elements.filter(|e| !e.is_empty()) {
            sse::data_lines(&mut buf, "elements", elements);
        }
        Event::finish(buf)
    }
}

impl From<PatchElements> for Event {
    fn from(patch: PatchElements) -> Event {
        patch.encode()
    }
}
