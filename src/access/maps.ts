/**
 * @module access/maps
 * The one Map helper the access domain's nested tables (ACL path -> member -> role) need.
 */

/** The value under `key`, inserting `create()` first when there is none. */
export function entryOf<K, V>(map: { get(key: K): V | undefined; set(key: K, value: V): unknown }, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}
