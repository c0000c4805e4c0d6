//! JSON written the way MockServer (Jackson's default pretty printer) writes it:
//! `{` and `}` on their own lines with two-space indents, `"key" : value`, and arrays on
//! one line as `[ a, b ]`. Clients and users compare MockServer's texts (verification
//! messages above all), so the layout is part of compatibility.

use serde_json::Value;
use serde_json::ser::Formatter;
use std::io;

struct Jackson {
    depth: usize,
}

fn indent<W: ?Sized + io::Write>(w: &mut W, depth: usize) -> io::Result<()> {
    for _ in 0..depth {
        w.write_all(b"  ")?;
    }
    Ok(())
}

impl Formatter for Jackson {
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b"[")
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b" ]")
    }

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        w.write_all(if first { b" " } else { b", " })
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        Ok(())
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth += 1;
        w.write_all(b"{")
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth -= 1;
        w.write_all(b"\n")?;
        indent(w, self.depth)?;
        w.write_all(b"}")
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        indent(w, self.depth)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b" : ")
    }
}

/// `v` as Jackson's default pretty printer writes it.
pub fn to_string(v: &Value) -> String {
    // Empty containers are written `[ ]` and `{ }` by Jackson.
    match v {
        Value::Array(a) if a.is_empty() => return "[ ]".into(),
        Value::Object(o) if o.is_empty() => return "{ }".into(),
        _ => {}
    }
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, Jackson { depth: 0 });
    serde::Serialize::serialize(v, &mut ser).expect("writing to a Vec cannot fail");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lays_out_like_jackson() {
        let v = json!({"path": "/a", "headers": {"Host": ["x", "y"]}, "list": [{"a": 1}]});
        assert_eq!(
            to_string(&v),
            "{\n  \"path\" : \"/a\",\n  \"headers\" : {\n    \"Host\" : [ \"x\", \"y\" ]\n  },\n  \"list\" : [ {\n    \"a\" : 1\n  } ]\n}"
        );
        assert_eq!(to_string(&json!([])), "[ ]");
    }
}
