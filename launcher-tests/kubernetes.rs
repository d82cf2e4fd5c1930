//! packaging/kubernetes/ (issue 13): the manifests parse, agree with beamrc's switches, and
//! every command they name exists and succeeds on a booted release configured as the pod
//! configures it (long names, `RELEASE_NODE=NAME@$(POD_IP)` with the pod IP 127.0.0.1).
//!
//! The YAML is read by a purpose-built parser for the subset the manifests use (block
//! mappings and sequences, `- key: value` items, flow sequences of scalars, quoted scalars,
//! comments, `---`), rather than a dependency: it fails loudly on anything else.
use crate::support::{Fixture, installed, ok};
use std::path::Path;

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Map(Vec<(String, Node)>),
    Seq(Vec<Node>),
    Str(String),
}

impl Node {
    fn get(&self, path: &str) -> &Node {
        path.split('.').fold(self, |node, key| match node {
            Node::Map(entries) => entries
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
                .unwrap_or_else(|| panic!("no key {key:?} (in {path})")),
            Node::Seq(items) => {
                &items[key
                    .parse::<usize>()
                    .unwrap_or_else(|_| panic!("{key} in {path}"))]
            }
            Node::Str(s) => panic!("{path}: {s:?} has no {key:?}"),
        })
    }

    fn str(&self, path: &str) -> &str {
        match self.get(path) {
            Node::Str(s) => s,
            other => panic!("{path} is not a scalar: {other:?}"),
        }
    }

    fn seq(&self, path: &str) -> &[Node] {
        match self.get(path) {
            Node::Seq(items) => items,
            other => panic!("{path} is not a sequence: {other:?}"),
        }
    }

    fn strings(&self, path: &str) -> Vec<String> {
        self.seq(path)
            .iter()
            .map(|n| match n {
                Node::Str(s) => s.clone(),
                other => panic!("{path}: not a scalar {other:?}"),
            })
            .collect()
    }
}

fn scalar(text: &str) -> Node {
    let t = text.trim();
    if let Some(inner) = t.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        return Node::Seq(
            inner
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(scalar)
                .collect(),
        );
    }
    for q in ['"', '\''] {
        if t.len() >= 2 && t.starts_with(q) && t.ends_with(q) {
            return Node::Str(t[1..t.len() - 1].to_string());
        }
    }
    assert!(
        !t.starts_with(['"', '\'', '&', '*', '|', '>']),
        "unsupported YAML scalar {t:?}"
    );
    Node::Str(t.to_string())
}

/// The line without a `#` comment (a `#` at the start or after a blank, outside quotes).
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' && prev.is_whitespace() => return &line[..i],
            None => {}
        }
        prev = c;
    }
    line
}

/// `(indent, text)` of the lines of one document, comments and blanks removed.
fn lines(doc: &str) -> Vec<(usize, String)> {
    doc.lines()
        .filter_map(|l| {
            let code = strip_comment(l);
            let text = code.trim_end();
            (!text.trim().is_empty()).then(|| {
                (
                    text.len() - text.trim_start().len(),
                    text.trim_start().to_string(),
                )
            })
        })
        .collect()
}

fn block(lines: &mut Vec<(usize, String)>, i: &mut usize, indent: usize) -> Node {
    if lines[*i].1.starts_with("- ") || lines[*i].1 == "-" {
        let mut items = Vec::new();
        while *i < lines.len() && lines[*i].0 == indent && lines[*i].1.starts_with('-') {
            let rest = lines[*i].1[1..].trim_start().to_string();
            if rest.is_empty() {
                *i += 1;
                let inner = lines[*i].0;
                items.push(block(lines, i, inner));
            } else if rest.contains(": ") || rest.ends_with(':') {
                // `- key: value` opens a mapping indented past the dash.
                lines[*i] = (indent + 2, rest);
                items.push(block(lines, i, indent + 2));
            } else {
                items.push(scalar(&rest));
                *i += 1;
            }
        }
        return Node::Seq(items);
    }
    let mut entries = Vec::new();
    while *i < lines.len() && lines[*i].0 == indent && !lines[*i].1.starts_with("- ") {
        let text = lines[*i].1.clone();
        let (key, rest) = match text.split_once(": ") {
            Some((k, r)) => (k.to_string(), r.trim().to_string()),
            None => (
                text.strip_suffix(':')
                    .unwrap_or_else(|| panic!("not `key: value`: {text:?}"))
                    .to_string(),
                String::new(),
            ),
        };
        *i += 1;
        let value = if !rest.is_empty() {
            scalar(&rest)
        } else if *i < lines.len()
            && (lines[*i].0 > indent || (lines[*i].0 == indent && lines[*i].1.starts_with("- ")))
        {
            let inner = lines[*i].0;
            block(lines, i, inner)
        } else {
            Node::Str(String::new())
        };
        entries.push((key, value));
    }
    assert!(
        *i >= lines.len() || lines[*i].0 < indent,
        "unexpected indentation at {:?}",
        lines.get(*i)
    );
    Node::Map(entries)
}

fn parse(text: &str) -> Vec<Node> {
    text.split("\n---")
        .map(|doc| {
            let mut l = lines(doc);
            let mut i = 0;
            let node = block(&mut l, &mut i, 0);
            assert_eq!(i, l.len(), "trailing lines: {:?}", &l[i..]);
            node
        })
        .collect()
}

fn seconds(text: &str) -> f64 {
    text.parse()
        .unwrap_or_else(|_| panic!("{text:?} is not a number"))
}

#[test]
fn the_parser_reads_its_subset() {
    let docs = parse(
        "a: 1\nb:\n  - x\n  - name: n\n    value: \"v # not a comment\"\nc: [\"p\", q] # comment\n---\nd:\n- e\n",
    );
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0].str("a"), "1");
    assert_eq!(docs[0].str("b.1.value"), "v # not a comment");
    assert_eq!(docs[0].strings("c"), ["p", "q"]);
    assert_eq!(docs[1].strings("d"), ["e"]);
}

#[test]
fn manifests_agree_with_beamrc_and_their_commands_work() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/kubernetes/my_app.yaml");
    let docs = parse(&std::fs::read_to_string(&path).unwrap());
    let kind = |k: &str| {
        docs.iter()
            .find(|d| d.str("kind") == k)
            .unwrap_or_else(|| panic!("no {k}"))
    };
    let service = kind("Service");
    assert_eq!(
        service.str("spec.clusterIP"),
        "None",
        "the Service must be headless"
    );
    let deployment = kind("Deployment");
    let pod = deployment.get("spec.template.spec");
    let grace = seconds(pod.str("terminationGracePeriodSeconds"));
    let container = pod.get("containers.0");

    let mut env = Vec::new();
    for e in container.seq("env") {
        let name = e.str("name").to_string();
        match e {
            Node::Map(entries) if entries.iter().any(|(k, _)| k == "value") => {
                env.push((name, e.str("value").to_string()))
            }
            _ if name == "POD_IP" => {
                assert_eq!(e.str("valueFrom.fieldRef.fieldPath"), "status.podIP")
            }
            _ if name == "RELEASE_COOKIE" => {
                assert!(!e.str("valueFrom.secretKeyRef.name").is_empty())
            }
            _ => panic!("unexpected env entry {name}"),
        }
    }
    let var = |k: &str| {
        env.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {k}"))
    };
    assert_eq!(var("RELEASE_DISTRIBUTION"), "name");
    assert_eq!(var("RELEASE_NODE"), "my_app@$(POD_IP)");
    for t in ["BEAMRC_SHUTDOWN_TIMEOUT", "BEAMRC_STOP_TIMEOUT"] {
        assert!(
            seconds(var(t)) < grace,
            "{t} must stay below terminationGracePeriodSeconds"
        );
    }
    let connect = seconds(var("BEAMRC_RPC_CONNECT_TIMEOUT"));

    let mut commands = Vec::new();
    for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
        // A probe is bounded by connect + call (the call defaults to the connect timeout).
        assert!(
            2.0 * connect <= seconds(container.str(&format!("{probe}.timeoutSeconds"))),
            "{probe}"
        );
        commands.push(container.strings(&format!("{probe}.exec.command")));
    }
    let pre_stop = container.strings("lifecycle.preStop.exec.command");
    assert_eq!(pre_stop, ["/app/bin/my_app", "stop"]);

    // The pod, reproduced: the fixture release (demo) as my_app, node NAME@POD_IP.
    let rel = installed(Fixture::Plain);
    let bin = rel.bin();
    let mut pod_env: Vec<(String, String)> = env
        .iter()
        .filter(|(k, _)| k.starts_with("BEAMRC_") || k == "RELEASE_DISTRIBUTION")
        .cloned()
        .collect();
    pod_env.push(("RELEASE_NODE".into(), "demo@127.0.0.1".into()));
    let pod_env: Vec<(&str, &str)> = pod_env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let run = |cmd: &[String]| {
        assert_eq!(cmd[0], "/app/bin/my_app", "{cmd:?}");
        let args: Vec<String> = cmd[1..]
            .iter()
            .map(|a| a.replace("my_app", "demo"))
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        rel.run(&bin, &args, &pod_env, None)
    };
    let out = rel.run(&bin, &["daemon"], &pod_env, None);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    for cmd in &commands {
        let out = run(cmd);
        assert_eq!(out.code, Some(0), "{cmd:?}: {}{}", out.stdout, out.stderr);
    }
    ok(&run(&pre_stop));
    for cmd in &commands {
        assert_ne!(run(cmd).code, Some(0), "{cmd:?} after stop");
    }
}
