//! Server-side printing: `meta.k8s.io/v1` Tables for `Accept: ...;as=Table` (kubectl get).

use serde_json::{Value, json};

use crate::resources::ResourceDef;
use crate::util::age;

const NAME_DESC: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: http://kubernetes.io/docs/user-guide/identifiers#names";
const AGE_DESC: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

struct Col(&'static str, &'static str, u8);

fn columns(def: &ResourceDef) -> Vec<Col> {
    let mut cols = vec![Col("Name", NAME_DESC, 0)];
    let extra: Vec<Col> = match def.kind {
        "Ingress" => vec![
            Col(
                "Class",
                "The name of the IngressClass resource that should be used for additional configuration",
                0,
            ),
            Col(
                "Hosts",
                "Hosts that incoming requests are matched against before the ingress rule",
                0,
            ),
            Col(
                "Address",
                "Address is a list containing ingress points for the load-balancer",
                0,
            ),
            Col("Ports", "Ports of TLS configurations that open", 0),
        ],
        "Service" => vec![
            Col("Type", "The type of the service", 0),
            Col("Cluster-IP", "The cluster IP of the service", 0),
            Col("External-IP", "The external IP of the service", 0),
            Col("Port(s)", "The ports of the service", 0),
        ],
        "Deployment" => vec![
            Col("Ready", "Number of the pod with ready state", 0),
            Col(
                "Up-to-date",
                "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
                0,
            ),
            Col(
                "Available",
                "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
                0,
            ),
        ],
        "Namespace" => vec![Col("Status", "The status of the namespace", 0)],
        "Node" => vec![
            Col("Status", "The status of the node", 0),
            Col("Roles", "The roles of the node", 0),
        ],
        "Pod" => vec![
            Col(
                "Ready",
                "The aggregate readiness state of this pod for accepting traffic.",
                0,
            ),
            Col(
                "Status",
                "The aggregate status of the containers in this pod.",
                0,
            ),
            Col(
                "Restarts",
                "The number of times the containers in this pod have been restarted.",
                0,
            ),
        ],
        "IngressClass" => vec![
            Col(
                "Controller",
                "Controller that is responsible for handling this class",
                0,
            ),
            Col(
                "Parameters",
                "A reference to a resource with additional parameters",
                0,
            ),
        ],
        "Lease" => vec![Col("Holder", "The holder of the lease", 0)],
        "ConfigMap" => vec![Col("Data", "Number of keys", 0)],
        "Secret" => vec![
            Col("Type", "The type of the secret", 0),
            Col("Data", "Number of keys", 0),
        ],
        "Endpoints" => vec![Col("Endpoints", "Endpoints of the service", 0)],
        _ => vec![],
    };
    if def.kind == "Event" {
        return vec![
            Col("Last Seen", "Time of the last occurrence", 0),
            Col("Type", "Type of this event", 0),
            Col("Reason", "Short, machine understandable string", 0),
            Col("Object", "The object this event is about", 0),
            Col(
                "Message",
                "A human-readable description of the status of this operation",
                0,
            ),
        ];
    }
    cols.extend(extra);
    cols.push(Col("Age", AGE_DESC, 0));
    match def.kind {
        "Service" => cols.push(Col("Selector", "The selector of the service", 1)),
        "Deployment" => {
            cols.push(Col(
                "Containers",
                "Names of each container in the template.",
                1,
            ));
            cols.push(Col(
                "Images",
                "Images referenced by each container in the template.",
                1,
            ));
            cols.push(Col("Selector", "Label selector for pods.", 1));
        }
        "Node" => {
            cols.push(Col("Version", "Kubelet Version reported by the node.", 0));
            cols.push(Col("Internal-IP", "List of internal IPs for the node.", 1));
            cols.push(Col("External-IP", "List of external IPs for the node.", 1));
        }
        _ => {}
    }
    cols
}

fn s<'a>(o: &'a Value, p: &str) -> &'a str {
    o.pointer(p).and_then(Value::as_str).unwrap_or("")
}

fn or_none(v: String) -> String {
    if v.is_empty() { "<none>".into() } else { v }
}

fn join_map(v: Option<&Value>) -> String {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

fn count(o: &Value, p: &str) -> i64 {
    o.pointer(p).and_then(Value::as_i64).unwrap_or(0)
}

/// `status.loadBalancer.ingress[*]`, each as its ip or else its hostname (Ingress ADDRESS and
/// Service EXTERNAL-IP columns alike).
fn load_balancer_addresses(o: &Value) -> Vec<String> {
    o.pointer("/status/loadBalancer/ingress")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|i| {
                    i.get("ip")
                        .or_else(|| i.get("hostname"))
                        .and_then(Value::as_str)
                        .map(String::from)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn cells(def: &ResourceDef, o: &Value) -> Vec<Value> {
    let name = s(o, "/metadata/name").to_string();
    let created = age(s(o, "/metadata/creationTimestamp"));
    let mut c: Vec<Value> = vec![json!(name)];
    match def.kind {
        "Ingress" => {
            let rules = o
                .pointer("/spec/rules")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let hosts: Vec<String> = rules
                .iter()
                .map(|r| {
                    r.get("host")
                        .and_then(Value::as_str)
                        .unwrap_or("*")
                        .to_string()
                })
                .collect();
            let addrs = load_balancer_addresses(o);
            let tls = o
                .pointer("/spec/tls")
                .and_then(Value::as_array)
                .is_some_and(|t| !t.is_empty());
            c.push(json!(or_none(s(o, "/spec/ingressClassName").to_string())));
            c.push(json!(if hosts.is_empty() {
                "*".to_string()
            } else {
                hosts.join(",")
            }));
            c.push(json!(addrs.join(",")));
            c.push(json!(if tls { "80, 443" } else { "80" }));
        }
        "Service" => {
            let ty = s(o, "/spec/type");
            let ports: Vec<String> = o
                .pointer("/spec/ports")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|p| {
                            let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
                            let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
                            match p.get("nodePort").and_then(Value::as_i64) {
                                Some(np) => format!("{port}:{np}/{proto}"),
                                None => format!("{port}/{proto}"),
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            let external = match ty {
                "LoadBalancer" => {
                    let ips = load_balancer_addresses(o);
                    if ips.is_empty() {
                        "<pending>".to_string()
                    } else {
                        ips.join(",")
                    }
                }
                "ExternalName" => s(o, "/spec/externalName").to_string(),
                _ => "<none>".to_string(),
            };
            c.push(json!(ty));
            c.push(json!(or_none(s(o, "/spec/clusterIP").to_string())));
            c.push(json!(external));
            c.push(json!(or_none(ports.join(","))));
        }
        "Deployment" => {
            c.push(json!(format!(
                "{}/{}",
                count(o, "/status/readyReplicas"),
                count(o, "/spec/replicas")
            )));
            c.push(json!(count(o, "/status/updatedReplicas")));
            c.push(json!(count(o, "/status/availableReplicas")));
        }
        "Namespace" => c.push(json!(s(o, "/status/phase"))),
        "Node" => {
            let ready = o
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .and_then(|a| {
                    a.iter()
                        .find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"))
                })
                .and_then(|c| c.get("status").and_then(Value::as_str))
                == Some("True");
            c.push(json!(if ready { "Ready" } else { "NotReady" }));
            c.push(json!("<none>"));
        }
        "Pod" => {
            let n = o
                .pointer("/spec/containers")
                .and_then(Value::as_array)
                .map(Vec::len)
                .unwrap_or(0);
            let ready = o
                .pointer("/status/containerStatuses")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter(|c| c.get("ready").and_then(Value::as_bool) == Some(true))
                        .count()
                })
                .unwrap_or(0);
            c.push(json!(format!("{ready}/{n}")));
            c.push(json!(s(o, "/status/phase")));
            c.push(json!(0));
        }
        "IngressClass" => {
            c.push(json!(s(o, "/spec/controller")));
            let p = o.pointer("/spec/parameters");
            c.push(json!(match p {
                Some(p) => format!("{}/{}", s(p, "/kind"), s(p, "/name")),
                None => "<none>".into(),
            }));
        }
        "Lease" => c.push(json!(s(o, "/spec/holderIdentity"))),
        "ConfigMap" => c.push(json!(
            o.get("data")
                .and_then(Value::as_object)
                .map(|m| m.len())
                .unwrap_or(0)
                + o.get("binaryData")
                    .and_then(Value::as_object)
                    .map(|m| m.len())
                    .unwrap_or(0)
        )),
        "Secret" => {
            c.push(json!(s(o, "/type")));
            c.push(json!(
                o.get("data")
                    .and_then(Value::as_object)
                    .map(|m| m.len())
                    .unwrap_or(0)
            ));
        }
        "Endpoints" => {
            let eps: Vec<String> = o
                .get("subsets")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .flat_map(|ss| {
                    let addrs: Vec<String> = ss
                        .get("addresses")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|a| a.get("ip").and_then(Value::as_str).map(String::from))
                        .collect();
                    let ports: Vec<i64> = ss
                        .get("ports")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|p| p.get("port").and_then(Value::as_i64))
                        .collect();
                    addrs
                        .into_iter()
                        .flat_map(move |a| {
                            ports.clone().into_iter().map(move |p| format!("{a}:{p}"))
                        })
                        .collect::<Vec<_>>()
                })
                .collect();
            c.push(json!(or_none(eps.join(","))));
        }
        "Event" => {
            let last = [
                s(o, "/lastTimestamp"),
                s(o, "/series/lastObservedTime"),
                s(o, "/eventTime"),
                s(o, "/metadata/creationTimestamp"),
            ]
            .into_iter()
            .find(|t| !t.is_empty())
            .unwrap_or("");
            let obj = format!(
                "{}/{}",
                s(o, "/involvedObject/kind").to_lowercase(),
                s(o, "/involvedObject/name")
            );
            return vec![
                json!(age(last)),
                json!(s(o, "/type")),
                json!(s(o, "/reason")),
                json!(obj),
                json!(s(o, "/message")),
            ];
        }
        _ => {}
    }
    c.push(json!(created));
    match def.kind {
        "Service" => c.push(json!(or_none(join_map(o.pointer("/spec/selector"))))),
        "Deployment" => {
            let cs = o
                .pointer("/spec/template/spec/containers")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let names: Vec<&str> = cs
                .iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str))
                .collect();
            let images: Vec<&str> = cs
                .iter()
                .filter_map(|c| c.get("image").and_then(Value::as_str))
                .collect();
            c.push(json!(names.join(",")));
            c.push(json!(images.join(",")));
            c.push(json!(join_map(o.pointer("/spec/selector/matchLabels"))));
        }
        "Node" => {
            let addr = |t: &str| -> String {
                o.pointer("/status/addresses")
                    .and_then(Value::as_array)
                    .and_then(|a| {
                        a.iter()
                            .find(|x| x.get("type").and_then(Value::as_str) == Some(t))
                    })
                    .and_then(|x| x.get("address").and_then(Value::as_str))
                    .unwrap_or("<none>")
                    .to_string()
            };
            c.push(json!(or_none(
                s(o, "/status/nodeInfo/kubeletVersion").to_string()
            )));
            c.push(json!(addr("InternalIP")));
            c.push(json!(addr("ExternalIP")));
        }
        _ => {}
    }
    c
}

/// A Table of `objects` (already in the served view).
pub fn table(def: &ResourceDef, objects: &[Value], rv: &str, include_object: &str) -> Value {
    let cols: Vec<Value> = columns(def)
        .iter()
        .map(|Col(name, desc, prio)| {
            json!({"name": name, "type": if *name == "Restarts" { "integer" } else { "string" },
                   "format": if *name == "Name" { "name" } else { "" }, "description": desc, "priority": prio})
        })
        .collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let object = match include_object {
                "None" => Value::Null,
                "Object" => o.clone(),
                _ => json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                            "metadata": o.get("metadata").cloned().unwrap_or(json!({}))}),
            };
            let mut row = json!({"cells": cells(def, o)});
            if !object.is_null() {
                row["object"] = object;
            }
            row
        })
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": rv},
           "columnDefinitions": cols, "rows": rows})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources;

    #[test]
    fn ingress_table_has_kubectl_columns_and_cells() {
        let def = resources::find("networking.k8s.io", "v1", "ingresses").expect("ingresses");
        let ing = json!({"metadata": {"name": "web", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"ingressClassName": "cdn", "rules": [{"host": "web.example.com"}]},
            "status": {"loadBalancer": {"ingress": [{"hostname": "edge.cdn.example.net"}]}}});
        let t = table(def, &[ing], "5", "Metadata");
        let names: Vec<&str> = t["columnDefinitions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["name"].as_str())
            .collect();
        assert_eq!(names, ["Name", "Class", "Hosts", "Address", "Ports", "Age"]);
        assert_eq!(
            t["rows"][0]["cells"]
                .as_array()
                .map(|c| c[..5].to_vec())
                .unwrap_or_default(),
            [
                json!("web"),
                json!("cdn"),
                json!("web.example.com"),
                json!("edge.cdn.example.net"),
                json!("80")
            ]
        );
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    }

    #[test]
    fn service_ports_show_node_ports() {
        let def = resources::find("", "v1", "services").expect("services");
        let svc = json!({"metadata": {"name": "s"}, "spec": {"type": "NodePort", "clusterIP": "10.96.0.9",
            "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]}});
        let t = table(def, &[svc], "1", "None");
        assert_eq!(t["rows"][0]["cells"][4], "80:30080/TCP");
        assert!(t["rows"][0].get("object").is_none());
    }

    #[test]
    fn load_balancer_service_shows_pending_then_its_addresses() {
        let def = resources::find("", "v1", "services").expect("services");
        let pending =
            json!({"metadata": {"name": "lb"}, "spec": {"type": "LoadBalancer", "ports": []}});
        let ready = json!({"metadata": {"name": "lb"}, "spec": {"type": "LoadBalancer", "ports": []},
            "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.7"}, {"hostname": "lb.example.net"}]}}});
        let t = table(def, &[pending, ready], "1", "None");
        assert_eq!(t["rows"][0]["cells"][3], "<pending>");
        assert_eq!(t["rows"][1]["cells"][3], "192.0.2.7,lb.example.net");
    }
}
