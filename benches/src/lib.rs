//! The two workloads of the Rust template benchmark (big table, teams), rendered by
//! livestar's `html!` and by sailfish, hypertext, askama and maud, producing the same bytes.
//!
//! `benches/templates.rs` times them; the tests below check that every engine renders the
//! same, escaped HTML, so the comparison is fair.

/// A `size` x `size` table of numbers, as in the upstream big-table workload.
pub fn big_table_data(size: usize) -> Vec<Vec<usize>> {
    (0..size).map(|_| (0..size).collect()).collect()
}

/// One team of the teams workload.
#[derive(Clone, Debug)]
pub struct Team {
    /// The team's name; some need escaping.
    pub name: String,
    /// Points this season.
    pub score: u8,
}

/// The teams workload's data: four teams, two of whose names need escaping.
pub fn teams_data() -> (u16, Vec<Team>) {
    let team = |name: &str, score| Team {
        name: name.to_owned(),
        score,
    };
    (
        2015,
        vec![
            team("Jiangsu <Suning>", 43),
            team("Beijing & Guoan", 27),
            team("Guangzhou", 22),
            team("Shandong", 12),
        ],
    )
}

/// The teams workload's data as the upstream benchmark has it: the same four teams, with
/// names that need no escaping.
pub fn upstream_teams_data() -> (u16, Vec<Team>) {
    let (year, mut teams) = teams_data();
    for (team, name) in teams
        .iter_mut()
        .zip(["Jiangsu", "Beijing", "Guangzhou", "Shandong"])
    {
        team.name = name.to_owned();
    }
    (year, teams)
}

/// livestar's `html!`, and `lazy_html!` rendered into a buffer the caller reuses.
pub mod livestar_templates {
    use livestar::prelude::*;

    use super::Team;

    /// Big table.
    pub fn big_table(table: &[Vec<usize>]) -> String {
        html! {
            <table>
                @for row in table {
                    <tr>
                        @for col in row {
                            <td>{col}</td>
                        }
                    </tr>
                }
            </table>
        }
        .into_string()
    }

    /// Big table, into `buf` (replacing what it held).
    pub fn big_table_into(table: &[Vec<usize>], buf: &mut String) {
        lazy_html! {
            <table>
                @for row in table {
                    <tr>
                        @for col in row {
                            <td>{col}</td>
                        }
                    </tr>
                }
            </table>
        }
        .render_replacing(buf)
    }

    /// Teams, into `buf` (replacing what it held).
    pub fn teams_into(year: u16, teams: &[Team], buf: &mut String) {
        lazy_html! {
            <html>
                <head><title>{year}</title></head>
                <body>
                    <h1>"CSL " {year}</h1>
                    <ul>
                        @for (i, team) in teams.iter().enumerate() {
                            @if i == 0 {
                                <li class="champion"><b>{&team.name}</b>": " {team.score}</li>
                            } @else {
                                <li><b>{&team.name}</b>": " {team.score}</li>
                            }
                        }
                    </ul>
                </body>
            </html>
        }
        .render_replacing(buf)
    }

    /// Teams.
    pub fn teams(year: u16, teams: &[Team]) -> String {
        html! {
            <html>
                <head><title>{year}</title></head>
                <body>
                    <h1>"CSL " {year}</h1>
                    <ul>
                        @for (i, team) in teams.iter().enumerate() {
                            @if i == 0 {
                                <li class="champion"><b>{&team.name}</b>": " {team.score}</li>
                            } @else {
                                <li><b>{&team.name}</b>": " {team.score}</li>
                            }
                        }
                    </ul>
                </body>
            </html>
        }
        .into_string()
    }
}

/// sailfish, from `templates/*.stpl`.
pub mod sailfish_templates {
    use sailfish::TemplateSimple;
    use sailfish::runtime::Buffer;

    use super::Team;

    #[derive(TemplateSimple)]
    #[template(path = "big-table.stpl")]
    struct BigTable<'a> {
        table: &'a [Vec<usize>],
    }

    #[derive(TemplateSimple)]
    #[template(path = "teams.stpl")]
    struct Teams<'a> {
        year: u16,
        teams: &'a [Team],
    }

    /// Big table.
    pub fn big_table(table: &[Vec<usize>]) -> String {
        BigTable { table }.render_once().unwrap_or_default()
    }

    /// Teams.
    pub fn teams(year: u16, teams: &[Team]) -> String {
        Teams { year, teams }.render_once().unwrap_or_default()
    }

    /// Big table, into `buf` (replacing what it held), as sailfish's docs pre-allocate.
    pub fn big_table_into(table: &[Vec<usize>], buf: &mut Buffer) {
        buf.clear();
        let _ = BigTable { table }.render_once_to(buf);
    }

    /// Teams, into `buf` (replacing what it held).
    pub fn teams_into(year: u16, teams: &[Team], buf: &mut Buffer) {
        buf.clear();
        let _ = Teams { year, teams }.render_once_to(buf);
    }
}

/// askama, from `templates/*.html`.
pub mod askama_templates {
    use askama::Template;

    use super::Team;

    #[derive(Template)]
    #[template(path = "big-table.html")]
    struct BigTable<'a> {
        table: &'a [Vec<usize>],
    }

    #[derive(Template)]
    #[template(path = "teams.html")]
    struct Teams<'a> {
        year: u16,
        teams: &'a [Team],
    }

    /// Big table.
    pub fn big_table(table: &[Vec<usize>]) -> String {
        BigTable { table }.render().unwrap_or_default()
    }

    /// Teams.
    pub fn teams(year: u16, teams: &[Team]) -> String {
        Teams { year, teams }.render().unwrap_or_default()
    }
}

/// maud.
pub mod maud_templates {
    use super::Team;

    /// Big table.
    pub fn big_table(table: &[Vec<usize>]) -> String {
        maud::html! {
            table {
                @for row in table {
                    tr {
                        @for col in row {
                            td { (col) }
                        }
                    }
                }
            }
        }
        .into_string()
    }

    /// Teams.
    pub fn teams(year: u16, teams: &[Team]) -> String {
        maud::html! {
            html {
                head { title { (year) } }
                body {
                    h1 { "CSL " (year) }
                    ul {
                        @for (i, team) in teams.iter().enumerate() {
                            @if i == 0 {
                                li.champion { b { (team.name) } ": " (team.score) }
                            } @else {
                                li { b { (team.name) } ": " (team.score) }
                            }
                        }
                    }
                }
            }
        }
        .into_string()
    }
}

/// hypertext (its maud-style syntax).
pub mod hypertext_templates {
    use hypertext::prelude::*;

    use super::Team;

    /// Big table.
    pub fn big_table(table: &[Vec<usize>]) -> String {
        maud! {
            table {
                @for row in table {
                    tr {
                        @for col in row {
                            td { (col) }
                        }
                    }
                }
            }
        }
        .render()
        .into_inner()
    }

    /// Teams.
    pub fn teams(year: u16, teams: &[Team]) -> String {
        maud! {
            html {
                head { title { (year) } }
                body {
                    h1 { "CSL " (year) }
                    ul {
                        @for (i, team) in teams.iter().enumerate() {
                            @if i == 0 {
                                li.champion { b { (team.name) } ": " (team.score) }
                            } @else {
                                li { b { (team.name) } ": " (team.score) }
                            }
                        }
                    }
                }
            }
        }
        .render()
        .into_inner()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spells every entity the named way, so engines that write `&#60;` for `&lt;` (askama)
    /// compare equal: the HTML is the same.
    fn normalized(html: String) -> String {
        [
            ("&#60;", "&lt;"),
            ("&#62;", "&gt;"),
            ("&#38;", "&amp;"),
            ("&#34;", "&quot;"),
            ("&#x27;", "&#39;"),
        ]
        .iter()
        .fold(html, |html, (numeric, named)| html.replace(numeric, named))
    }

    #[test]
    fn every_engine_renders_the_same_big_table() {
        let table = big_table_data(10);
        let expected = livestar_templates::big_table(&table);
        assert!(expected.starts_with("<table><tr><td>0</td><td>1</td>"));
        assert_eq!(normalized(sailfish_templates::big_table(&table)), expected);
        assert_eq!(normalized(askama_templates::big_table(&table)), expected);
        assert_eq!(normalized(maud_templates::big_table(&table)), expected);
        assert_eq!(normalized(hypertext_templates::big_table(&table)), expected);
    }

    #[test]
    fn rendering_into_a_reused_buffer_gives_the_same_bytes() {
        let table = big_table_data(10);
        let (year, teams) = teams_data();
        let mut buf = String::from("left over");
        let mut sailfish_buf = sailfish::runtime::Buffer::from("left over");
        livestar_templates::big_table_into(&table, &mut buf);
        sailfish_templates::big_table_into(&table, &mut sailfish_buf);
        assert_eq!(buf, livestar_templates::big_table(&table));
        assert_eq!(sailfish_buf.as_str(), buf);
        livestar_templates::teams_into(year, &teams, &mut buf);
        sailfish_templates::teams_into(year, &teams, &mut sailfish_buf);
        assert_eq!(buf, livestar_templates::teams(year, &teams));
        assert_eq!(normalized(sailfish_buf.into_string()), buf);
    }

    #[test]
    fn upstream_teams_need_no_escaping() {
        let (year, teams) = upstream_teams_data();
        let html = livestar_templates::teams(year, &teams);
        assert!(html.contains(r#"<li class="champion"><b>Jiangsu</b>: 43</li>"#));
        assert!(!html.contains('&'));
        assert_eq!(sailfish_templates::teams(year, &teams), html);
    }

    #[test]
    fn every_engine_renders_the_same_escaped_teams() {
        let (year, teams) = teams_data();
        let expected = livestar_templates::teams(year, &teams);
        assert!(
            expected.contains(r#"<li class="champion"><b>Jiangsu &lt;Suning&gt;</b>: 43</li>"#)
        );
        assert!(expected.contains("<li><b>Beijing &amp; Guoan</b>: 27</li>"));
        assert_eq!(
            normalized(sailfish_templates::teams(year, &teams)),
            expected
        );
        assert_eq!(normalized(askama_templates::teams(year, &teams)), expected);
        assert_eq!(normalized(maud_templates::teams(year, &teams)), expected);
        assert_eq!(
            normalized(hypertext_templates::teams(year, &teams)),
            expected
        );
    }
}
