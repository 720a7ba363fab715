//! A [`Session`] reads its data lazily: it keeps the stored JSON text,
//! indexes the top-level keys, and parses a value when it is first read.
//! Everything it reads, refuses and saves must be what reading the whole
//! [`Data`] (`Store::load`, which builds the map) gives; these tests hold the
//! two side by side, through the component, on texts as another Django
//! process may leave them (spacing, repeated keys, lone surrogates).

use serde_json::json;
use sessionbox::{Data, Error, Loaded, Settings, Store, DEFAULT_KEY_SALT, MAX_DATA_DEPTH};
use sessionbox_guest::codec::Codec;
use sessionbox_guest::json::{canonical_object, object_to_string};
use tempfile::TempDir;

const SECRET: &str = "lazy-session-test-secret";

fn setup() -> (TempDir, Store) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = Store::open(dir.path().join("sessions"), Settings::new(SECRET)).expect("open store");
    (dir, store)
}

/// Stores `text` under `key` verbatim, signed as Django signs it, as another
/// Django process would (the store's own writes are in Python's compact form).
fn write_signed(store: &Store, key: &str, text: &str) {
    let signed = Codec::new(SECRET, &[], DEFAULT_KEY_SALT).encode(text, 1_700_000_000);
    let path = store.dir().expect("a directory store").join(format!("{}{key}", store.settings().file_prefix));
    std::fs::write(path, signed).expect("write session file");
}

/// The session's data as `Store::load` reads it: the whole map.
fn whole(store: &Store, key: &str) -> Data {
    match store.load(key).expect("load") {
        Loaded::Found { data, .. } => data,
        other => panic!("no session: {other:?}"),
    }
}

/// The session's JSON text as stored.
fn stored_json(store: &Store, key: &str) -> String {
    store.load_json(key).expect("load_json").into_data().expect("a live session")
}

/// What a save of `data` stores: Python's compact form of the map.
fn saved_form(data: &Data) -> String {
    canonical_object(&object_to_string(data)).expect("an object")
}

/// The session files in the store's directory.
fn files(store: &Store) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(store.dir().expect("a directory store"))
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn repeated_top_level_keys_read_as_the_last_value_in_the_first_place() {
    let (_dir, store) = setup();
    let key = "lazyrepeated00000000000000000000";
    // `\u0061` is "a" too; the nested "a" is no top-level key.
    write_signed(&store, key, r#"{"a":1,"b":{"a":"inner"},"\u0061":[2,3],"c":"x", "a" : {"last":true} }"#);
    let mut session = store.session(Some(key));
    assert_eq!(session.get("a").unwrap(), Some(json!({"last": true})));
    assert_eq!(session.keys().unwrap(), ["a", "b", "c"]);
    assert_eq!(session.items().unwrap(), whole(&store, key).into_iter().collect::<Vec<_>>());
    assert_eq!(session.get("last").unwrap(), None);
    assert!(!session.modified());

    // Removing the repeated key removes it whole; the rest saves as it was.
    let mut session = store.session(Some(key));
    assert_eq!(session.pop("a").unwrap(), Some(json!({"last": true})));
    assert!(!session.contains_key("a").unwrap());
    session.save(false).unwrap();
    assert_eq!(stored_json(&store, key), r#"{"b":{"a":"inner"},"c":"x"}"#);
}

#[test]
fn a_session_too_deep_for_data_fails_its_first_access_as_store_load_does() {
    let (_dir, store) = setup();
    let text = |n: usize| format!(r#"{{"user":"42","deep":{}{}}}"#, "[".repeat(n), "]".repeat(n));

    // At the limit (the object is level 1): read as ever.
    let key = store.create_json(&text(MAX_DATA_DEPTH - 1)).unwrap();
    assert_eq!(store.session(Some(&key)).get("user").unwrap(), Some(json!("42")));

    // One level more: the load fails as `Store::load` does, whichever key
    // the first access reads, even one beside the deep value.
    let key = store.create_json(&text(MAX_DATA_DEPTH)).unwrap();
    let refused = store.load(&key).unwrap_err();
    assert!(matches!(&refused, Error::InvalidData(why) if why.contains("load_json")), "{refused:?}");
    assert_eq!(store.session(Some(&key)).get("user"), Err(refused.clone()));
    assert_eq!(store.session(Some(&key)).contains_key("user"), Err(refused.clone()));
    assert_eq!(store.session(Some(&key)).keys(), Err(refused.clone()));
    assert_eq!(store.session(Some(&key)).expiry_age(), Err(refused.clone()));

    // The session keeps its key and loads nothing, so a save cannot
    // overwrite the stored data with an empty map.
    let mut session = store.session(Some(&key));
    assert_eq!(session.get("user"), Err(refused.clone()));
    assert_eq!(session.key(), Some(key.as_str()));
    assert!(session.accessed() && !session.modified());
    assert_eq!(session.stored_expiry(), None);
    assert_eq!(session.save(false), Err(refused.clone()));
    assert_eq!(stored_json(&store, &key), text(MAX_DATA_DEPTH));
}

#[test]
fn a_read_then_an_unmodified_save_stores_the_same_data() {
    let (_dir, store) = setup();
    let text = r#"{"_auth_user_id":"42","cart":[{"sku":"a1","qty":2}],"big":123456789012345678901234567890,"f":1.5,"n":NaN,"e":"\u00e9\ud83d\ude00","visits":3}"#;
    let key = store.create_json(text).unwrap();
    assert_eq!(stored_json(&store, &key), text);
    let before = files(&store);
    let mut session = store.session(Some(&key));
    assert_eq!(session.get("visits").unwrap(), Some(json!(3)));
    session.save(false).unwrap();
    assert!(!session.modified());
    assert_eq!(stored_json(&store, &key), text);
    assert_eq!(files(&store), before, "the save left another file");

    // Another writer's spacing and repeated keys, never read before the
    // save: stored as a save of the whole map stores them.
    let key = "lazyspacing000000000000000000000";
    write_signed(&store, key, r#"{ "a" : 1 , "b":[1, 2], "a": "\u00e9" }"#);
    let expected = saved_form(&whole(&store, key));
    assert_eq!(expected, r#"{"a":"\u00e9","b":[1,2]}"#);
    store.session(Some(key)).save(false).unwrap();
    assert_eq!(stored_json(&store, key), expected);

    // Lone surrogates: `Data` reads each as U+FFFD, but a save of a loaded
    // session writes its changes onto the stored text (`Store::update`),
    // so the values keep them as stored (as Django's dict would); a key
    // is written as `Data` reads it.
    let text = r#"{"a":"x\ud800y","\udc00":1,"b":2}"#;
    let key = store.create_json(text).unwrap();
    assert_eq!(stored_json(&store, &key), text);
    assert_eq!(saved_form(&whole(&store, &key)), r#"{"a":"x\ufffdy","\ufffd":1,"b":2}"#);
    let mut session = store.session(Some(&key));
    assert_eq!(session.get("b").unwrap(), Some(json!(2)));
    session.save(false).unwrap();
    assert_eq!(stored_json(&store, &key), r#"{"a":"x\ud800y","\ufffd":1,"b":2}"#);
}

#[test]
fn an_insert_after_a_lazy_read_saves_every_other_key_exactly() {
    let (_dir, store) = setup();
    let cases = [
        // Numbers beyond f64 and i64, Python's words, escapes of every kind.
        r#"{"_auth_user_id":"42","big":123456789012345678901234567890123,"neg":-98765432109876543210,"f":1.5,"tiny":5e-324,"exp":1e+100,"inf":Infinity,"ninf":-Infinity,"nan":NaN,"esc":"\u00e9\u2028\ud83d\ude00\"\\\/\n","\u00e9key":{"nested":[1,{"x":null}],"t":true},"empty":{},"list":[],"visits":1}"#,
        // Another writer's spacing and a repeated key.
        r#"{ "visits" : 0 , "a": [1, 2] , "visits": 7, "z" : "end" }"#,
        // Lone surrogates, which `Data` reads as U+FFFD.
        r#"{"a":"x\ud800","\udfff":[1],"visits":2}"#,
    ];
    for (i, text) in cases.into_iter().enumerate() {
        let key = format!("lazyinsert{i:022}");
        write_signed(&store, &key, text);
        let mut expected = whole(&store, &key);

        let mut session = store.session(Some(&key));
        let visits = session.get("visits").unwrap().and_then(|v| v.as_i64()).expect("visits");
        session.insert("visits", visits + 1).unwrap();
        session.insert("new", "value").unwrap();
        session.save(false).unwrap();

        expected.insert("visits".into(), json!(visits + 1));
        expected.insert("new".into(), json!("value"));
        let expected = saved_form(&expected);
        // A value's lone surrogate stays as stored (the save writes the
        // changes onto the stored text); `Data` reads it as U+FFFD.
        let expected = if i == 2 { expected.replacen(r#""x\ufffd""#, r#""x\ud800""#, 1) } else { expected };
        assert_eq!(stored_json(&store, &key), expected, "case {i}");
    }
    // The first case spelled out: every other value as written, in
    // Python's compact form.
    let expected = canonical_object(&cases[0].replace(r#""visits":1}"#, r#""visits":2,"new":"value"}"#)).unwrap();
    assert_eq!(stored_json(&store, &format!("lazyinsert{:022}", 0)), expected);
    assert!(expected.contains(r#""big":123456789012345678901234567890123,"neg":-98765432109876543210,"#), "{expected}");

    // A removal and an update in the middle keep the others' order.
    let key = store.create_json(r#"{"a":1,"b":{"c":[2]},"d":"\u00e9","e":5}"#).unwrap();
    let mut session = store.session(Some(&key));
    assert_eq!(session.pop("b").unwrap(), Some(json!({"c": [2]})));
    session.update([("d".to_owned(), json!(null)), ("f".to_owned(), json!([]))]).unwrap();
    session.save(false).unwrap();
    assert_eq!(stored_json(&store, &key), r#"{"a":1,"d":null,"e":5,"f":[]}"#);
}
