use livestar::prelude::*;

struct Point {
    x: i32,
    y: i32,
}

enum Shape {
    Dot(Point),
    Empty,
}

fn main() {
    let points = [Point { x: 1, y: 2 }, Point { x: 3, y: 4 }];
    let shapes = [Shape::Dot(Point { x: 5, y: 6 }), Shape::Empty];
    let maybe: Option<&str> = None;
    let html = html! {
        <ul>
            @for Point { x, y } in &points {
                @let sum = x + y;
                <li>{x} "," {y} "=" {sum}</li>
            }
        </ul>
        @for shape in &shapes {
            @match shape {
                Shape::Dot(Point { x, .. }) if *x > 0 => <b>{x}</b>,
                Shape::Dot(_) => { "dot" }
                Shape::Empty => "empty"
            }
        }
        @if let Some(text) = maybe {
            <p>{text}</p>
        } @else if points.len() > 1 {
            <p>"many"</p>
        } @else {
            <p>"few"</p>
        }
    };
    assert_eq!(
        html.as_str(),
        "<ul><li>1,2=3</li><li>3,4=7</li></ul><b>5</b>empty<p>many</p>"
    );
}
