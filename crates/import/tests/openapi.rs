//! The OpenAPI reader on small documents written for one behaviour each. The corpus test
//! (`tests/corpus.rs`) runs the same reader over real documents.

use serde_json::{Value, json};
use standin_import::{BasePath, Options, Sources, import, missing_files, plan};
use standin_matcher::CompiledRoute;
use standin_model::{PathMatcher, ResponseBody, Route};

const PETS_V1: &str = r#"
openapi: 3.0.3
info: {title: Pets, version: "1"}
servers: [{url: "https://api.example.com/v{major}", variables: {major: {default: "1"}}}]
paths:
  /pets:
    get:
      operationId: listPets
      summary: List pets
      tags: [pets]
      responses:
        200:
          description: ok
          headers:
            X-Total: {schema: {type: integer, minimum: 0}}
          content:
            application/json:
              schema: {type: array, items: {$ref: '#/components/schemas/Pet'}}
        "5XX": {description: broken}
    post:
      operationId: createPet
      responses:
        "201":
          description: created
          content:
            application/json:
              examples:
                rex: {value: {id: 1, name: Rex}}
                tom: {value: {id: 2, name: Tom}}
        "400":
          description: bad
          content:
            application/json:
              example: {code: bad}
  /pets/{petId}:
    get:
      operationId: showPet
      responses:
        "200":
          description: ok
          content: {application/json: {schema: {$ref: '#/components/schemas/Pet'}}}
        "404": {description: missing}
  /files/{name}.{ext}:
    get:
      responses: {"200": {description: ok, content: {text/plain: {example: hello}}}}
components:
  schemas:
    Pet:
      type: object
      required: [id, name]
      properties:
        id: {type: integer, format: int64, minimum: 1}
        name: {type: string, minLength: 2, maxLength: 20}
        tag: {type: string, enum: [dog, cat]}
        owner: {$ref: '#/components/schemas/Person'}
    Person:
      type: object
      required: [email]
      properties:
        email: {type: string, format: email}
        best: {$ref: '#/components/schemas/Pet'}
"#;

fn read(text: &str) -> standin_import::Imported {
    import(
        &Sources::single("openapi.yaml", text),
        None,
        &Options::default(),
    )
    .unwrap()
}

fn route<'a>(routes: &'a [Route], id: &str) -> &'a Route {
    routes
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no route {id}"))
}

fn prefer_header(p: &str) -> http::HeaderMap {
    let mut h = http::HeaderMap::new();
    h.insert("prefer", p.parse().unwrap());
    h
}

fn compiled(r: &Route) -> CompiledRoute {
    CompiledRoute::compile(r, 1, Default::default()).unwrap()
}

#[test]
fn one_route_per_operation_with_its_path_template() {
    let i = read(PETS_V1);
    let ids: Vec<&str> = i.routes.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        ["listPets", "createPet", "showPet", "get-files-name-.-ext"]
    );
    assert_eq!(i.title.as_deref(), Some("Pets"));
    let show = route(&i.routes, "showPet").http.as_ref().unwrap();
    assert_eq!(
        show.request.path,
        Some(PathMatcher::Pattern("/pets/{petId}".into()))
    );
    let files = i.routes[3].http.as_ref().unwrap();
    assert!(matches!(&files.request.path, Some(PathMatcher::Regex(r)) if r.contains("(?P<name>")));
    assert_eq!(route(&i.routes, "listPets").tags, ["pets"]);
    assert_eq!(route(&i.routes, "listPets").name, "List pets");
    assert!(i.warnings.is_empty(), "{:?}", i.warnings);
}

#[test]
fn the_server_base_path_is_kept_on_request() {
    let keep = Options {
        base_path: BasePath::Keep,
        ..Options::default()
    };
    let i = import(&Sources::single("o.yaml", PETS_V1), None, &keep).unwrap();
    let path = &i.routes[0].http.as_ref().unwrap().request.path;
    assert_eq!(path, &Some(PathMatcher::Pattern("/v1/pets".into())));
}

#[test]
fn the_first_2xx_answers_and_every_status_and_example_can_be_picked() {
    let i = read(PETS_V1);
    let create = compiled(route(&i.routes, "createPet"));
    let prefer = |p: &str| {
        let r = create.answer(&prefer_header(p));
        (
            r.status.as_u16(),
            String::from_utf8(r.body.to_vec()).unwrap(),
        )
    };
    assert_eq!(create.answer(&http::HeaderMap::new()).status, 201);
    assert_eq!(
        String::from_utf8(create.answer(&http::HeaderMap::new()).body.to_vec()).unwrap(),
        r#"{"id":1,"name":"Rex"}"#
    );
    assert_eq!(
        prefer("example=tom"),
        (201, r#"{"id":2,"name":"Tom"}"#.into())
    );
    assert_eq!(prefer("code=400"), (400, r#"{"code":"bad"}"#.into()));
    assert_eq!(
        prefer("code=201, example=tom").1,
        r#"{"id":2,"name":"Tom"}"#
    );
    assert_eq!(
        prefer("code=418").0,
        201,
        "an undocumented status falls back to the default"
    );
    let list = compiled(route(&i.routes, "listPets"));
    assert_eq!(
        list.answer(&prefer_header("code=500")).status,
        500,
        "5XX is 500"
    );
    let show = compiled(route(&i.routes, "showPet"));
    assert_eq!(show.answer(&prefer_header("code=404")).body.len(), 0);
}

#[test]
fn bodies_without_examples_are_generated_valid_and_repeatable() {
    let doc: Value = standin_import::parse_document("o.yaml", PETS_V1).unwrap();
    let i = read(PETS_V1);
    let body = |r: &Route| match &r.http.as_ref().unwrap().response.body {
        Some(ResponseBody::Json(v)) => v.clone(),
        other => panic!("{other:?}"),
    };
    let pets = body(route(&i.routes, "listPets"));
    let mut schema = doc.clone();
    schema["$ref"] = json!("#/paths/~1pets/get/responses/200/content/application~1json/schema");
    let v = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    assert!(v.is_valid(&pets), "{pets}");
    assert!(pets[0]["owner"]["email"].as_str().unwrap().contains('@'));
    let total = &route(&i.routes, "listPets")
        .http
        .as_ref()
        .unwrap()
        .response
        .headers["X-Total"];
    assert!(total.values()[0].parse::<u64>().is_ok());
    // The same document and seed give the same bodies; another seed others.
    assert_eq!(pets, body(route(&read(PETS_V1).routes, "listPets")));
    let other = import(
        &Sources::single("openapi.yaml", PETS_V1),
        None,
        &Options {
            seed: 99,
            ..Options::default()
        },
    )
    .unwrap();
    assert_ne!(pets, body(route(&other.routes, "listPets")));
}

#[test]
fn schema_keywords_are_honoured() {
    use standin_import::generate::example;
    let s = json!({"type": "object", "required": ["a", "b", "c", "d", "e", "f", "g", "h", "i"], "properties": {
        "a": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$"},
        "b": {"type": "integer", "minimum": 10, "exclusiveMaximum": 12},
        "c": {"type": "number", "multipleOf": 0.5, "minimum": 3.2},
        "d": {"type": "array", "minItems": 3, "uniqueItems": true, "items": {"type": "string", "enum": ["x", "y", "z"]}},
        "e": {"const": "fixed"},
        "f": {"type": "string", "default": "dflt"},
        "g": {"oneOf": [{"type": "string"}, {"type": "object", "required": ["k"], "properties": {"k": {"type": "boolean"}}}]},
        "h": {"type": ["null", "string"], "format": "date-time"},
        "i": {"type": "object", "additionalProperties": {"type": "integer"}},
        "j": {"type": "string", "format": "uuid"},
        "k": {"type": "string", "format": "ipv6"},
        "l": {"type": "string", "format": "uri"},
        "m": {"type": "string", "format": "hostname"},
        "n": {"type": "string", "format": "ipv4"},
        "o": {"type": "string", "format": "date"},
        "p": {"allOf": [{"type": "object", "properties": {"x": {"type": "integer"}}}, {"properties": {"y": {"type": "boolean"}}}]}
    }});
    for seed in 0..50 {
        let v = example(&s, seed);
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&s)
            .unwrap();
        let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "seed {seed}: {v}: {errors:?}");
        assert_eq!(v["e"], "fixed");
        assert_eq!(v["f"], "dflt");
        assert_eq!(v["d"].as_array().unwrap().len(), 3);
        assert!(v["p"]["x"].is_i64() && v["p"]["y"].is_boolean(), "{v}");
    }
}

#[test]
fn recursive_schemas_are_bounded() {
    let s = json!({"$ref": "#/$defs/node", "$defs": {"node": {"type": "object", "required": ["name", "next"],
        "properties": {"name": {"type": "string"}, "next": {"$ref": "#/$defs/node"}, "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}}}}});
    let v = standin_import::generate::example(&s, 1);
    let text = v.to_string();
    assert!(text.len() < 20_000, "{} bytes", text.len());
    let mut depth = 0;
    let mut at = &v;
    while let Some(next) = at.get("next") {
        depth += 1;
        at = next;
    }
    assert!((6..=13).contains(&depth), "depth {depth}");
    assert!(
        at.get("name").is_some(),
        "the innermost node still has its scalar fields"
    );
}

#[test]
fn swagger_2_reads_definitions_examples_and_base_path() {
    let doc = json!({
        "swagger": "2.0", "info": {"title": "Old", "version": "1"}, "basePath": "/api/",
        "produces": ["application/json"],
        "paths": {"/users/{id}": {"parameters": [{"name": "id", "in": "path", "required": true, "type": "string"}],
            "get": {"responses": {
                "200": {"description": "ok", "schema": {"$ref": "#/definitions/User"}},
                "404": {"description": "no", "examples": {"application/json": {"error": "not found"}}}}}}},
        "definitions": {"User": {"type": "object", "required": ["id"], "x-nullable": true,
            "properties": {"id": {"type": "string", "format": "uuid"}, "age": {"type": "integer", "minimum": 0, "maximum": 150}}}}
    });
    let keep = Options {
        base_path: BasePath::Keep,
        ..Options::default()
    };
    let i = import(&Sources::single("s.json", doc.to_string()), None, &keep).unwrap();
    let r = &i.routes[0];
    assert_eq!(r.id, "get-users-id");
    let http = r.http.as_ref().unwrap();
    assert_eq!(
        http.request.path,
        Some(PathMatcher::Pattern("/api/users/{id}".into()))
    );
    let Some(ResponseBody::Json(user)) = &http.response.body else {
        panic!()
    };
    assert_eq!(user["id"].as_str().unwrap().len(), 36);
    assert_eq!(http.alternatives[0].status, 404);
    assert_eq!(
        http.alternatives[0].body,
        Some(ResponseBody::Json(json!({"error": "not found"})))
    );
}

#[test]
fn external_refs_resolve_next_to_the_document() {
    let main = r#"
openapi: 3.1.0
info: {title: split, version: "1"}
paths:
  /a: {$ref: 'paths/a.yaml'}
"#;
    let mut s = Sources::single("spec/openapi.yaml", main);
    assert_eq!(missing_files(&s).unwrap(), ["spec/paths/a.yaml"]);
    let err = import(&s, None, &Options::default()).unwrap_err();
    assert!(err.message.contains("spec/paths/a.yaml"), "{err}");
    assert_eq!(err.pointer, "/paths/~1a");
    s.files.insert(
        "spec/paths/a.yaml".into(),
        "get:\n  responses:\n    '200':\n      description: ok\n      content:\n        application/json:\n          schema: {$ref: '../schemas.yaml#/Thing'}\n".into(),
    );
    assert_eq!(missing_files(&s).unwrap(), ["spec/schemas.yaml"]);
    s.files.insert(
        "spec/schemas.yaml".into(),
        "Thing: {type: object, required: [n], properties: {n: {const: 7}}}\n".into(),
    );
    let i = import(&s, None, &Options::default()).unwrap();
    assert_eq!(
        i.routes[0].http.as_ref().unwrap().response.body,
        Some(ResponseBody::Json(json!({"n": 7})))
    );
}

#[test]
fn broken_documents_import_nothing_and_say_where() {
    let yaml = import(
        &Sources::single("o.yaml", "openapi: 3.0.0\npaths:\n  /a: [1, 2\n  /b: 3\n"),
        None,
        &Options::default(),
    )
    .unwrap_err();
    assert!(yaml.line.is_some() && yaml.column.is_some(), "{yaml:?}");
    let json = import(
        &Sources::single("o.json", "{\"openapi\": \"3.0.0\",\n \"paths\": {]}"),
        None,
        &Options::default(),
    )
    .unwrap_err();
    assert_eq!(json.line, Some(2), "{json:?}");
    let shape = import(
        &Sources::single("o.json", r#"{"openapi": "3.0.0", "paths": []}"#),
        None,
        &Options::default(),
    )
    .unwrap_err();
    assert_eq!(shape.pointer, "/paths");
    // In YAML, an error found after parsing also says the line.
    let yaml_shape = import(
        &Sources::single(
            "o.yaml",
            "openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get: 5\n",
        ),
        None,
        &Options::default(),
    )
    .unwrap_err();
    assert_eq!(
        (yaml_shape.pointer.as_str(), yaml_shape.line),
        ("/paths/~1a/get", Some(5)),
        "{yaml_shape}"
    );
    let version = import(
        &Sources::single("o.json", r#"{"openapi": "4.0.0", "paths": {}}"#),
        None,
        &Options::default(),
    )
    .unwrap_err();
    assert_eq!(version.pointer, "/openapi");
    let looped = import(
        &Sources::single("o.json", r##"{"openapi": "3.0.0", "paths": {"/a": {"$ref": "#/x"}}, "x": {"$ref": "#/paths/~1a"}}"##),
        None,
        &Options::default(),
    )
    .unwrap_err();
    assert!(looped.message.contains("refers to itself"), "{looped}");
    let unknown = import(
        &Sources::single("o.json", r#"{"hello": 1}"#),
        None,
        &Options::default(),
    )
    .unwrap_err();
    assert!(unknown.message.contains("not a format"), "{unknown}");
}

#[test]
fn what_cannot_be_carried_over_is_a_warning_with_its_place() {
    let doc = json!({"openapi": "3.0.0", "info": {"title": "w", "version": "1"}, "paths": {
        "/x": {"get": {"responses": {"200": {"description": "ok", "content": {"application/xml": {"schema": {"type": "object"}}}}}}},
        "/y": {"get": {"responses": {"200": {"description": "ok", "content": {"application/json": {"examples": {"far": {"externalValue": "https://x.test/e.json"}}}}}}}},
        "/z": {"get": {}}
    }});
    let i = import(
        &Sources::single("o.json", doc.to_string()),
        None,
        &Options::default(),
    )
    .unwrap();
    let pointers: Vec<&str> = i.warnings.iter().map(|w| w.pointer.as_str()).collect();
    assert_eq!(
        pointers,
        [
            "/paths/~1x/get/responses/200/content/application~1xml",
            "/paths/~1y/get/responses/200/content/application~1json/examples/far",
            "/paths/~1z/get/responses",
        ]
    );
}

/// The sync scenario: import version 1, edit one route by hand, import version 2.
#[test]
fn a_newer_version_plans_added_removed_and_changed_and_keeps_hand_edits() {
    let v1 = read(PETS_V1).routes;
    let mut current = v1.clone();
    // A person edits showPet's answer after the import.
    current[2].http.as_mut().unwrap().response.status = 202;
    // And writes a route of their own.
    current.push(
        serde_json::from_value(json!({"id": "mine", "http": {"request": {"path": "/mine"}}}))
            .unwrap(),
    );
    let v2_text = PETS_V1
        .replace("      summary: List pets\n", "      summary: List all pets\n")
        .replace("  /files/{name}.{ext}:", "  /owners:\n    get:\n      operationId: listOwners\n      responses: {\"200\": {description: ok}}\n  /files-gone/{name}.{ext}:")
        .replace("        \"404\": {description: missing}", "        \"404\": {description: missing}\n        \"410\": {description: gone}");
    let v2 = read(&v2_text);
    let p = plan(&current, &v2);
    let ids = |e: &[standin_import::PlanEntry]| e.iter().map(|e| e.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&p.create), ["listOwners", "get-files-gone-name-.-ext"]);
    assert_eq!(ids(&p.update), ["listPets"]);
    assert_eq!(p.update[0].diff[0].pointer, "/name");
    assert_eq!(p.update[0].diff[0].after, Some(json!("List all pets")));
    assert_eq!(ids(&p.delete), ["get-files-name-.-ext"]);
    assert_eq!(p.unchanged, ["createPet"]);
    assert_eq!(
        ids(&p.conflicts),
        ["showPet"],
        "edited by hand and changed by the document"
    );
    assert!(
        p.conflicts[0]
            .reason
            .as_ref()
            .unwrap()
            .contains("edited by hand")
    );
    assert!(
        p.conflicts[0]
            .diff
            .iter()
            .any(|d| d.pointer.starts_with("/http/alternatives"))
    );
    assert!(!p.puts().iter().any(|r| r.id == "showPet" || r.id == "mine"));
    assert_eq!(p.deletes(), ["get-files-name-.-ext"]);

    // Version 1 again on top of the edit: the document did not change showPet, so the
    // edit is kept without a conflict.
    let again = plan(&current, &read(PETS_V1));
    assert_eq!(ids(&again.kept), ["showPet"]);
    assert!(!again.has_conflicts());
    assert!(again.is_empty());
}

#[test]
fn a_route_written_by_hand_with_an_imported_id_is_a_conflict() {
    let mine: Route =
        serde_json::from_value(json!({"id": "listPets", "http": {"request": {"path": "/pets"}}}))
            .unwrap();
    let p = plan(&[mine], &read(PETS_V1));
    assert_eq!(p.conflicts[0].id, "listPets");
    assert!(!p.puts().iter().any(|r| r.id == "listPets"));
}

/// The drift report: routes imported from version 1, one edited by hand, checked against
/// version 1 and then against a version 2 that requires a new field.
#[test]
fn the_drift_report_lists_answers_that_break_the_document() {
    let mut routes = read(PETS_V1).routes;
    // Hand edits: an undocumented status, and a body that breaks the Pet schema.
    routes[2].http.as_mut().unwrap().response.status = 418;
    routes[0].http.as_mut().unwrap().response.body =
        Some(ResponseBody::Json(json!([{"id": "one"}])));
    let mine: Route = serde_json::from_value(
        json!({"id": "mine", "http": {"request": {"method": "GET", "path": "/nowhere"}}}),
    )
    .unwrap();
    routes.push(mine);
    let report = standin_import::drift(&Sources::single("o.yaml", PETS_V1), &routes).unwrap();
    assert_eq!(report.checked, 4);
    assert_eq!(report.unknown, ["mine"]);
    let ids: Vec<&str> = report.drifted.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["listPets", "showPet"]);
    let list = &report.drifted[0].problems;
    let pointers: Vec<&str> = list.iter().map(|p| p.pointer.as_str()).collect();
    assert_eq!(pointers, ["/0", "/0/id"], "{list:?}");
    assert!(
        report.drifted[1].problems[0]
            .message
            .contains("418 is not documented")
    );

    // Version 2 requires `born`: the untouched imported bodies drift too.
    let v2 = PETS_V1.replace("required: [id, name]", "required: [id, name, born]");
    let fresh = read(PETS_V1).routes;
    let report = standin_import::drift(&Sources::single("o.yaml", v2), &fresh).unwrap();
    let ids: Vec<&str> = report.drifted.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["listPets", "showPet"]);
    assert!(
        report.drifted[1].problems[0].message.contains("born"),
        "{:?}",
        report.drifted[1]
    );
}

/// Two documents in one service: each import plans against its own routes only.
#[test]
fn two_documents_share_a_service() {
    let pets = read(PETS_V1).routes;
    let other = PETS_V1
        .replace("title: Pets", "title: Stores")
        .replace("operationId: listPets", "operationId: listStores")
        .replace("operationId: createPet", "operationId: createStore");
    // showPet keeps its id: the same id from another document.
    let stores = read(&other);
    assert_eq!(stores.source, "Stores");
    let p = plan(&pets, &stores);
    assert!(
        p.delete.is_empty(),
        "the other document's routes are not deleted: {:?}",
        p.delete
    );
    let conflicts: Vec<&str> = p.conflicts.iter().map(|c| c.id.as_str()).collect();
    assert!(
        conflicts.contains(&"showPet"),
        "the same id from another document is a conflict: {conflicts:?}"
    );
    assert!(p.conflicts.iter().all(|c| {
        c.reason
            .as_deref()
            .unwrap_or("")
            .contains("another document")
    }));
}

/// Schemas built to be slow or endless end quickly with small values.
#[test]
fn hostile_schemas_are_bounded() {
    use standin_import::generate::example;
    let self_all_of =
        json!({"$ref": "#/$defs/a", "$defs": {"a": {"allOf": [{"$ref": "#/$defs/a"}]}}});
    let _ = example(&self_all_of, 1);
    let self_one_of = json!({"$ref": "#/$defs/a", "$defs": {"a": {"oneOf": [{"$ref": "#/$defs/a"}, {"$ref": "#/$defs/a"}]}}});
    let _ = example(&self_one_of, 1);
    let long = example(&json!({"type": "string", "minLength": 100_000_000}), 1);
    assert!(long.as_str().unwrap().len() <= 4096);
    let wide = json!({"$ref": "#/$defs/n", "$defs": {"n": {"type": "array", "minItems": 64, "items": {"$ref": "#/$defs/n"}}}});
    let v = example(&wide, 1);
    assert!(
        v.to_string().len() < 10_000_000,
        "{} bytes",
        v.to_string().len()
    );
    let many = json!({"type": "object", "minProperties": 1_000_000, "additionalProperties": {"type": "integer"}});
    assert!(example(&many, 1).as_object().unwrap().len() <= 64);
}

/// Server variables are substituted once: a default naming another variable stays text.
#[test]
fn server_variables_do_not_expand_into_each_other() {
    let doc = json!({"openapi": "3.0.0", "info": {"title": "t", "version": "1"},
        "servers": [{"url": "https://x.test/{a}/v1", "variables": {"a": {"default": "{b}{b}{b}"}, "b": {"default": "{a}{a}{a}"}}}],
        "paths": {"/p": {"get": {"responses": {"200": {"description": "ok"}}}}}});
    let keep = Options {
        base_path: BasePath::Keep,
        ..Options::default()
    };
    let i = import(&Sources::single("o.json", doc.to_string()), None, &keep).unwrap();
    let path = i.routes[0]
        .http
        .as_ref()
        .unwrap()
        .request
        .path
        .clone()
        .unwrap();
    let text = match path {
        PathMatcher::Pattern(p) | PathMatcher::Regex(p) | PathMatcher::Exact(p) => p,
        PathMatcher::Not(_) => unreachable!(),
    };
    assert!(text.len() < 100, "{text}");
    assert!(text.contains("v1"), "{text}");
}

/// Many operations with one operationId get distinct ids, in linear time.
#[test]
fn repeated_operation_ids_are_numbered() {
    let mut paths = serde_json::Map::new();
    for n in 0..3000 {
        paths.insert(
            format!("/p{n}"),
            json!({"get": {"operationId": "same", "responses": {"200": {"description": "ok"}}}}),
        );
    }
    let doc = json!({"openapi": "3.0.0", "info": {"title": "t", "version": "1"}, "paths": paths});
    let i = import(
        &Sources::single("o.json", doc.to_string()),
        None,
        &Options::default(),
    )
    .unwrap();
    let ids: std::collections::HashSet<&str> = i.routes.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), 3000);
    assert!(ids.contains("same") && ids.contains("same-2") && ids.contains("same-3000"));
}

/// A header a document gives that cannot be sent is left out, and the route still compiles.
#[test]
fn headers_that_cannot_be_sent_are_left_out() {
    let doc = json!({"openapi": "3.0.0", "info": {"title": "t", "version": "1"}, "paths": {"/p": {"get": {"responses": {"200": {
        "description": "ok",
        "headers": {"Bad Name": {"example": "x"}, "X-Ok": {"example": "line\nbreak"}, "X-Good": {"example": "fine"}},
        "content": {"application/json\r\nX-Evil: 1": {"example": {"a": 1}}}}}}}}});
    let i = import(
        &Sources::single("o.json", doc.to_string()),
        None,
        &Options::default(),
    )
    .unwrap();
    let r = &i.routes[0];
    let headers = &r.http.as_ref().unwrap().response.headers;
    assert_eq!(headers.keys().collect::<Vec<_>>(), ["X-Good"]);
    compiled(r);
}
