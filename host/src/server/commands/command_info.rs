//! `COMMAND` and its subcommands (COUNT, LIST, INFO, DOCS): what the command table says
//! about each command, in Redis's reply shapes.

use super::context::upper;
use super::names::{self, Spec};
use crate::server::resp::{Out, Reply};

/// `COMMAND [COUNT | LIST | INFO [name ...] | DOCS [name ...]]`
pub(super) fn command(rest: &[Vec<u8>], out: &mut Out) {
    let names = &rest[rest.len().min(1)..];
    match rest.first().map(|s| upper(s)).as_deref() {
        None => {
            out.array(names::all().len());
            names::all().iter().for_each(|spec| info(spec, out));
        }
        Some("COUNT") if names.is_empty() => out.integer(names::all().len() as i64),
        Some("LIST") if names.is_empty() => {
            out.array(names::all().len());
            for spec in names::all() {
                out.bulk(Some(spec.name.to_ascii_lowercase().as_bytes()));
            }
        }
        Some("INFO") if names.is_empty() => command(&[], out),
        Some("INFO") => {
            out.array(names.len());
            for name in names {
                match names::find(name) {
                    Some(spec) => info(spec, out),
                    None => out.null_array(),
                }
            }
        }
        Some("DOCS") => {
            let specs: Vec<&Spec> = if names.is_empty() {
                names::all().iter().collect()
            } else {
                names.iter().filter_map(|name| names::find(name)).collect()
            };
            out.map(specs.len());
            for spec in specs {
                docs(spec, out);
            }
        }
        Some(_) => out.error(
            "ERR unknown subcommand or wrong number of arguments for 'COMMAND' (COUNT, LIST, INFO and DOCS are supported)",
        ),
    }
}

/// Redis 7's ACL categories, derived from the flags and group.
fn categories(spec: &Spec) -> Vec<String> {
    let mut categories = Vec::new();
    if matches!(spec.group, "string" | "bitmap") {
        categories.push(format!("@{}", spec.group));
    }
    if spec.keys.0 > 0 {
        categories.push("@keyspace".to_string());
    }
    for (flag, category) in [
        ("write", "@write"),
        ("readonly", "@read"),
        ("fast", "@fast"),
    ] {
        if spec.flags.contains(&flag) {
            categories.push(category.to_string());
        }
    }
    if !spec.flags.contains(&"fast") {
        categories.push("@slow".to_string());
    }
    if spec.group == "connection" {
        categories.push("@connection".to_string());
    }
    if spec.group == "transactions" {
        categories.push("@transaction".to_string());
    }
    if spec.flags.contains(&"admin") {
        categories.push("@admin".to_string());
        categories.push("@dangerous".to_string());
    }
    categories
}

/// One command's `COMMAND INFO` entry: name, arity, flags, first key, last key, step, ACL
/// categories, tips, key specifications, subcommands.
fn info(spec: &Spec, out: &mut Out) {
    out.array(10);
    out.bulk(Some(spec.name.to_ascii_lowercase().as_bytes()));
    out.integer(spec.arity);
    out.array(spec.flags.len());
    spec.flags.iter().for_each(|flag| out.simple(flag));
    out.integer(spec.keys.0);
    out.integer(spec.keys.1);
    out.integer(spec.keys.2);
    let categories = categories(spec);
    out.array(categories.len());
    categories.iter().for_each(|c| out.simple(c));
    out.array(0);
    out.array(0);
    out.array(0);
}

/// One command's `COMMAND DOCS` entry: its name, then a map of summary, since and group.
fn docs(spec: &Spec, out: &mut Out) {
    out.bulk(Some(spec.name.to_ascii_lowercase().as_bytes()));
    out.map(3);
    for (field, value) in [
        ("summary", spec.summary),
        ("since", spec.since),
        ("group", spec.group),
    ] {
        out.bulk(Some(field.as_bytes()));
        out.bulk(Some(value.as_bytes()));
    }
}
